// AzureOpenAI: the `api-key` header, /openai/deployments/{deployment}/images/generations?api-version=...
import { AzureOpenAI } from "openai";

import { apiKey, args, baseURL, main } from "./gazo.mjs";

await main(() => {
  const azure = new AzureOpenAI({
    endpoint: baseURL,
    apiKey,
    apiVersion: "2025-04-01-preview",
    deployment: "gpt-image-1",
    maxRetries: 0,
    timeout: 120_000,
  });
  return azure.images.generate({ model: "gpt-image-1", prompt: args.prompt, size: args.size, quality: "low" });
});
