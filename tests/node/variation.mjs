// client.images.createVariation of an image uploaded through `toFile`.
import { args, client, main, upload } from "./gazo.mjs";

await main(async () =>
  client().images.createVariation({
    image: await upload(args.image),
    n: 1,
    size: args.size,
    response_format: "b64_json",
  }),
);
