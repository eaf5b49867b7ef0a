// A client built like the vendor's samples, in Node 20 with the built-in https module only:
// the scheme hard-coded, only the domain and the key pair configurable, certificates checked
// (NODE_EXTRA_CA_CERTS="$(bgmock ca)" is what makes bgmock's CA trusted).
//
//   node vendor_sample.mjs DOMAIN KEY SECRET   -> "finished N images SIZE SIZE ..." or exit 1
import { createHmac } from "node:crypto";
import https from "node:https";

const SUBMIT = "/ai/image/background/generation/scenario";
const QUERY = "/ai/image/background/generation/query";
const ITEM = { modelNum: "mod001", imageFileUrl: "https://cdn.example.com/p/mug.jpg",
  width: "800", height: "800", imageNum: "2" };

function request(url, body) {
  return new Promise((resolve, reject) => {
    const options = body === undefined ? { method: "GET" } : {
      method: "POST",
      headers: { "Content-Type": "application/json", "x-iop-trial": "true", "Content-Length": Buffer.byteLength(body) },
    };
    const req = https.request(url, options, (res) => {
      const chunks = [];
      res.on("data", (chunk) => chunks.push(chunk));
      res.on("end", () => res.statusCode === 200 ? resolve(Buffer.concat(chunks))
        : reject(new Error(`HTTP ${res.statusCode} from ${url}`)));
    });
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

async function call(domain, api, params, key, secret) {
  const timestamp = String(Date.now());
  const sign = createHmac("sha256", secret).update(secret + timestamp).digest("hex").toUpperCase();
  const url = `https://${domain}/rest${api}?partner_id=aidge&sign_method=sha256&sign_ver=v2`
    + `&app_key=${key}&timestamp=${timestamp}&sign=${sign}`;
  return JSON.parse((await request(url, JSON.stringify(params))).toString("utf8"));
}

const [domain, key, secret] = process.argv.slice(2);
const submitted = await call(domain, SUBMIT, { requestParams: JSON.stringify([ITEM]) }, key, secret);
const taskId = submitted.data.result.taskId;
let data;
for (let i = 0; i < 200; i++) {
  data = (await call(domain, QUERY, { taskId }, key, secret)).data;
  if (data.taskStatus === "finished") break;
  await new Promise((r) => setTimeout(r, 100));
}
const sizes = [];
for (const result of data.taskResult) {
  for (const url of result.imageUrlList) sizes.push((await request(url)).length);
}
console.log(`finished ${sizes.length} images ${sizes.join(" ")}`);
