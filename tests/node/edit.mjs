// client.images.edit with an image and a mask uploaded through `toFile`.
import { args, client, main, upload } from "./gazo.mjs";

await main(async () =>
  client().images.edit({
    image: await upload(args.image),
    mask: await upload(args.mask),
    prompt: args.prompt,
  }),
);
