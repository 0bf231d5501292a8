"""OpenAI's Batch API for images: `validation` reads an input file into lines, `objects` shapes a Batch
as openai-python reads it, `runner` works the durable queue (`gazo.service.batches`) through the image
service, line by line, as interactive requests of the batch's key would run."""
