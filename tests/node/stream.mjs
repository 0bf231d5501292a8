// A streamed generation with one partial image: every event, in the order the SDK yielded them.
import { args, client, main } from "./gazo.mjs";

await main(async () => {
  const stream = await client().images.generate({
    model: "gpt-image-1",
    prompt: args.prompt,
    size: args.size,
    quality: "high",
    stream: true,
    partial_images: 1,
  });
  const events = [];
  for await (const event of stream) {
    events.push(event);
  }
  return { events };
});
