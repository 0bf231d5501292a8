// client.images.generate: the response as the SDK parsed it.
import { args, client, main } from "./gazo.mjs";

await main(() =>
  client().images.generate({ model: "gpt-image-1", prompt: args.prompt, size: args.size, quality: "low" }),
);
