#!/usr/bin/env node
// A command adapter (the kit's JSON-lines protocol) around a small Node 20 client of the
// Image Background Generation API: built-in fetch and crypto only, no npm packages.
//
// The client is written as a team would write one from the vendor's samples: every call is
// POST {base}/rest{api}?partner_id=aidge&sign_method=sha256&sign_ver=v2&app_key&timestamp&sign
// (v2: HMAC-SHA256(secret, secret + timestamp), upper-case hex), a JSON body with
// requestParams as a JSON string, the x-iop-trial header; retryable codes retried with
// exponential backoff; polling with an interval and a deadline; a timeout on every request.
//
//   bgmock contract --adapter-cmd 'node examples/adapters/node/bg_adapter.mjs'
//
// --bug no-timeout is its deliberately broken twin: requests have no timeout, so a server
// that never answers holds the caller (the kit reports it under C9, "timeout: no timeout").
import { createHmac } from "node:crypto";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

const SUBMIT = "/ai/image/background/generation/scenario";
const QUERY = "/ai/image/background/generation/query";
const RETRYABLE = new Set([500, 501, 801, 1001]);

const { values: opt } = parseArgs({
  options: {
    timeout: { type: "string", default: "3" },
    "max-attempts": { type: "string", default: "4" },
    backoff: { type: "string", default: "0.1" },
    "poll-interval": { type: "string", default: "0.25" },
    "poll-timeout": { type: "string", default: "4" },
    bug: { type: "string" },
  },
});
const timeoutMs = Number(opt.timeout) * 1000;
const maxAttempts = Number(opt["max-attempts"]);
const backoffMs = Number(opt.backoff) * 1000;
const pollIntervalMs = Number(opt["poll-interval"]) * 1000;
const pollTimeoutMs = Number(opt["poll-timeout"]) * 1000;
if (opt.bug !== undefined && opt.bug !== "no-timeout") {
  console.error(`unknown --bug ${opt.bug}`);
  process.exit(2);
}

class ApiError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.code = code;
    this.apiMessage = message;
  }
}
class CommunicationError extends Error {}
class TaskFailedError extends Error {}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class BackgroundClient {
  constructor(baseUrl, appKey, appSecret) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.appKey = appKey;
    this.appSecret = appSecret;
  }

  url(api) {
    const timestamp = String(Date.now());
    const sign = createHmac("sha256", this.appSecret).update(this.appSecret + timestamp).digest("hex").toUpperCase();
    const query = new URLSearchParams({
      partner_id: "aidge",
      sign_method: "sha256",
      sign_ver: "v2",
      app_key: this.appKey,
      timestamp,
      sign,
    });
    return `${this.baseUrl}/rest${api}?${query}`;
  }

  async post(api, body) {
    let response, text;
    try {
      response = await fetch(this.url(api), {
        method: "POST",
        headers: { "Content-Type": "application/json", "x-iop-trial": "true" },
        body: JSON.stringify(body),
        signal: opt.bug === "no-timeout" ? undefined : AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (err) {
      throw new CommunicationError(`${err.name}: ${err.cause?.code ?? err.message}`);
    }
    if (response.status !== 200) throw new CommunicationError(`HTTP ${response.status}`);
    let answer;
    try {
      answer = JSON.parse(text);
    } catch (err) {
      throw new CommunicationError(`the answer is not JSON: ${err.message}`);
    }
    if (answer === null || typeof answer !== "object" || Array.isArray(answer)) {
      throw new CommunicationError("the answer is not a JSON object");
    }
    if (!("resCode" in answer)) throw new ApiError(String(answer.code ?? "unknown"), String(answer.message ?? ""));
    const code = Number(String(answer.resCode).trim());
    if (!Number.isInteger(code)) throw new CommunicationError(`resCode ${answer.resCode} is not a number`);
    if (code !== 200) throw new ApiError(code, String(answer.resMessage ?? ""));
    if (answer.data === null || typeof answer.data !== "object") throw new CommunicationError("success without data");
    return answer.data;
  }

  backoff(attempt, baseMs) {
    return baseMs * 2 ** attempt * (0.75 + 0.25 * Math.random());
  }

  async submit(item) {
    const body = { requestParams: JSON.stringify([item]) };
    for (let attempt = 0; ; attempt++) {
      try {
        const data = await this.post(SUBMIT, body);
        const taskId = data.result?.taskId;
        if (typeof taskId !== "string") throw new CommunicationError("success without data.result.taskId");
        return taskId;
      } catch (err) {
        if (!(err instanceof ApiError) || !RETRYABLE.has(err.code) || attempt + 1 >= maxAttempts) throw err;
        console.error(`submit: resCode ${err.code}, retrying`);
        await sleep(this.backoff(attempt, backoffMs));
      }
    }
  }

  async wait(taskId) {
    const deadline = Date.now() + pollTimeoutMs;
    let errors = 0;
    for (;;) {
      let pause;
      try {
        const data = await this.post(QUERY, { taskId });
        errors = 0;
        if (data.taskStatus === "finished") return (data.taskResult ?? []).map((r) => [...(r.imageUrlList ?? [])]);
        if (data.taskStatus === "failed") throw new TaskFailedError(String(data.taskMessage ?? "failed"));
        pause = pollIntervalMs;
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        errors += 1;
        if (!RETRYABLE.has(err.code) || errors >= maxAttempts) throw err;
        pause = this.backoff(errors, pollIntervalMs);
      }
      if (Date.now() + pause > deadline) throw new CommunicationError(`task ${taskId} did not end in time`);
      await sleep(pause);
    }
  }
}

// -- the protocol: one JSON object per line each way -----------------------------------------
async function answer(state, message) {
  switch (message.op) {
    case "open":
      state.client = new BackgroundClient(message.baseUrl, message.appKey, message.appSecret);
      return { ok: true, wait: true };
    case "close":
      return { ok: true };
  }
  try {
    if (message.op === "submit") return { taskId: await state.client.submit(message.params) };
    if (message.op === "wait") return { urls: await state.client.wait(message.taskId) };
    return { crash: `unknown op ${message.op}` };
  } catch (err) {
    if (err instanceof ApiError) return { rejected: { code: err.code, message: err.apiMessage } };
    if (err instanceof CommunicationError) return { transport: err.message };
    if (err instanceof TaskFailedError) return { taskFailed: err.message };
    return { crash: `${err.name}: ${err.message}` };
  }
}

const state = {};
for await (const line of createInterface({ input: process.stdin })) {
  const message = JSON.parse(line);
  process.stdout.write(JSON.stringify(await answer(state, message)) + "\n");
  if (message.op === "close") break;
}
process.exit(0);
