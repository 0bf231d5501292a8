// The Responses API's image_generation tool: one turn, as the SDK parsed the response.
import { args, client, main } from "./gazo.mjs";

await main(() =>
  client().responses.create({
    model: "gpt-5",
    input: args.prompt,
    tools: [{ type: "image_generation", size: args.size, quality: "low" }],
  }),
);
