// The Responses API streamed, with one partial image: every event, in the order the SDK yielded them.
import { args, client, main } from "./gazo.mjs";

await main(async () => {
  const stream = await client().responses.create({
    model: "gpt-5",
    input: args.prompt,
    tools: [{ type: "image_generation", size: args.size, quality: "low", partial_images: 1 }],
    stream: true,
  });
  const events = [];
  for await (const event of stream) {
    events.push(event);
  }
  return { events };
});
