"""Server configs that more than one test module starts a `gazo serve` with."""

#: The tiny SD model made slow (`{source}`: its folder): 2 steps at low, 400 at medium, 3,000 at high,
#: on one torch thread; one job in the queue behind the one rendering.
SLOW_TINY = """
[server]
request_timeout_s = 15.0

[engine]
queue_size = 1
retry_after_s = 3

[[models]]
name = "slow-tiny"
backend = "tiny"
source = "{source}"
[models.options]
steps = {{ low = 2, medium = 400, high = 3000 }}
torch_threads = 1  # steady step times when other processes share the CPU (no thread barriers)
"""
