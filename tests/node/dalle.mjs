// DALL-E 3 with response_format "url", then the URL fetched as a browser would: a plain GET, no key.
import { args, client, main } from "./gazo.mjs";

await main(async () => {
  const response = await client().images.generate({
    model: "dall-e-3",
    prompt: args.prompt,
    response_format: "url",
  });
  const url = response.data?.[0]?.url;
  if (typeof url !== "string") {
    return { response, fetched: null }; // the test says what is missing
  }
  const fetched = await fetch(url);
  const body = Buffer.from(await fetched.arrayBuffer());
  return {
    response,
    fetched: {
      status: fetched.status,
      content_type: fetched.headers.get("content-type"),
      b64: body.toString("base64"),
    },
  };
});
