// Two turns: an image, then "make it blue" on it through previous_response_id.
import { args, client, main } from "./gazo.mjs";

await main(async () => {
  const openai = client();
  const first = await openai.responses.create({
    model: "gpt-5",
    input: args.prompt,
    tools: [{ type: "image_generation", size: args.size, quality: "low" }],
  });
  const second = await openai.responses.create({
    model: "gpt-5",
    previous_response_id: first.id,
    input: args.follow_up,
    tools: [{ type: "image_generation" }],
  });
  return { first, second };
});
