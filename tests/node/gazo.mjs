// What every script shares: the server and key it is given (GAZO_BASE_URL, GAZO_API_KEY), its arguments
// (GAZO_ARGS, a JSON object), an SDK client without retries, and `main`, which prints the script's result
// as one JSON object on stdout, or the error (with the server's error body) on stderr and exits 1.
import { readFile } from "node:fs/promises";
import { basename } from "node:path";

import OpenAI, { toFile } from "openai";

export const baseURL = process.env.GAZO_BASE_URL;
export const apiKey = process.env.GAZO_API_KEY;
export const args = JSON.parse(process.env.GAZO_ARGS ?? "{}");

export function client() {
  return new OpenAI({ baseURL: `${baseURL}/v1`, apiKey, maxRetries: 0, timeout: 120_000 });
}

/** An upload made as the SDK's docs show: `toFile` over the bytes of a file the test wrote. */
export async function upload(path, type = "image/png") {
  return toFile(await readFile(path), basename(path), { type });
}

export async function main(run) {
  try {
    process.stdout.write(`${JSON.stringify(await run())}\n`);
  } catch (error) {
    console.error(error?.stack ?? String(error));
    if (error instanceof OpenAI.APIError) {
      console.error(JSON.stringify({ status: error.status, error: error.error }));
    }
    process.exitCode = 1;
  }
}
