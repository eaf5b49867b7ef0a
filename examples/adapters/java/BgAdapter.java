// A command adapter (the kit's JSON-lines protocol) around a small Java 17 client of the Image
// Background Generation API: JDK only (java.net.http), no Maven, no JSON library.
//
// The client is written as a team would write one from the vendor's Java sample: every call is
// POST {base}/rest{api}?partner_id=aidge&sign_method=sha256&sign_ver=v2&app_key&timestamp&sign
// (v2: HMAC-SHA256(secret, secret + timestamp), upper-case hex), a JSON body with
// requestParams as a JSON string whose values are all strings ("width":"800", as the sample
// sends them), the x-iop-trial header; retryable codes retried with exponential backoff;
// polling with an interval and a deadline; a timeout on every request.
//
//   javac -d build examples/adapters/java/BgAdapter.java
//   bgmock contract --adapter-cmd 'java -cp build BgAdapter'
//
// --bug retry-all is its deliberately broken twin: it retries every error code, 700 included
// (a content refusal sent again is refused again; the kit reports it under C6).
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

public final class BgAdapter {
    static final String SUBMIT = "/ai/image/background/generation/scenario";
    static final String QUERY = "/ai/image/background/generation/query";
    static final Set<Long> RETRYABLE = Set.of(500L, 501L, 801L, 1001L);

    static final class ApiError extends Exception {
        final Object code;
        final String apiMessage;

        ApiError(Object code, String message) {
            super(code + ": " + message);
            this.code = code;
            this.apiMessage = message;
        }
    }

    static final class CommunicationError extends Exception {
        CommunicationError(String message) {
            super(message);
        }
    }

    static final class TaskFailedError extends Exception {
        TaskFailedError(String message) {
            super(message);
        }
    }

    /** The client: what a team writes from the vendor's sample. */
    static final class BackgroundClient {
        final String baseUrl, appKey, appSecret;
        final Options o;
        final HttpClient http;

        BackgroundClient(String baseUrl, String appKey, String appSecret, Options o) {
            this.baseUrl = baseUrl.replaceAll("/+$", "");
            this.appKey = appKey;
            this.appSecret = appSecret;
            this.o = o;
            this.http = HttpClient.newBuilder().connectTimeout(o.timeout).version(HttpClient.Version.HTTP_1_1).build();
        }

        String url(String api) throws Exception {
            String timestamp = Long.toString(System.currentTimeMillis());
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(appSecret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            StringBuilder sign = new StringBuilder();
            for (byte b : mac.doFinal((appSecret + timestamp).getBytes(StandardCharsets.UTF_8))) {
                sign.append(String.format("%02X", b));
            }
            return baseUrl + "/rest" + api + "?partner_id=aidge&sign_method=sha256&sign_ver=v2&app_key="
                    + URLEncoder.encode(appKey, StandardCharsets.UTF_8) + "&timestamp=" + timestamp + "&sign=" + sign;
        }

        Map<String, Object> post(String api, Map<String, Object> body) throws Exception {
            HttpRequest request = HttpRequest.newBuilder(URI.create(url(api)))
                    .timeout(o.timeout)
                    .header("Content-Type", "application/json")
                    .header("x-iop-trial", "true")
                    .POST(HttpRequest.BodyPublishers.ofString(Json.write(body)))
                    .build();
            HttpResponse<String> response;
            try {
                response = http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            } catch (IOException e) {  // timeouts, resets, cut bodies
                throw new CommunicationError(e.getClass().getSimpleName() + ": " + e.getMessage());
            }
            if (response.statusCode() != 200) throw new CommunicationError("HTTP " + response.statusCode());
            Object parsed;
            try {
                parsed = Json.parse(response.body());
            } catch (IllegalArgumentException e) {
                throw new CommunicationError("the answer is not JSON: " + e.getMessage());
            }
            if (!(parsed instanceof Map)) throw new CommunicationError("the answer is not a JSON object");
            @SuppressWarnings("unchecked")
            Map<String, Object> answer = (Map<String, Object>) parsed;
            if (!answer.containsKey("resCode")) {
                throw new ApiError(String.valueOf(answer.getOrDefault("code", "unknown")),
                        String.valueOf(answer.getOrDefault("message", "")));
            }
            long code;
            try {
                code = Long.parseLong(String.valueOf(answer.get("resCode")).trim());
            } catch (NumberFormatException e) {
                throw new CommunicationError("resCode " + answer.get("resCode") + " is not a number");
            }
            if (code != 200) throw new ApiError(code, String.valueOf(answer.getOrDefault("resMessage", "")));
            if (!(answer.get("data") instanceof Map)) throw new CommunicationError("a success answer without data");
            @SuppressWarnings("unchecked")
            Map<String, Object> data = (Map<String, Object>) answer.get("data");
            return data;
        }

        boolean retryable(ApiError e) {
            return o.bug.equals("retry-all") || (e.code instanceof Long && RETRYABLE.contains(e.code));
        }

        long backoffMs(int attempt, double baseS) {
            return (long) (baseS * 1000 * Math.pow(2, attempt) * (0.75 + 0.25 * Math.random()));
        }

        String submit(Map<String, Object> item) throws Exception {
            Map<String, Object> asStrings = new LinkedHashMap<>();  // as the vendor's sample sends them
            for (Map.Entry<String, Object> e : item.entrySet()) asStrings.put(e.getKey(), String.valueOf(e.getValue()));
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("requestParams", Json.write(List.of(asStrings)));
            for (int attempt = 0; ; attempt++) {
                try {
                    Map<String, Object> data = post(SUBMIT, body);
                    Object result = data.get("result");
                    if (result instanceof Map && ((Map<?, ?>) result).get("taskId") instanceof String) {
                        return (String) ((Map<?, ?>) result).get("taskId");
                    }
                    throw new CommunicationError("a success answer without data.result.taskId");
                } catch (ApiError e) {
                    if (!retryable(e) || attempt + 1 >= o.maxAttempts) throw e;
                    System.err.println("submit: resCode " + e.code + ", retrying");
                    Thread.sleep(backoffMs(attempt, o.backoff));
                }
            }
        }

        List<List<String>> waitFor(String taskId) throws Exception {
            long deadline = System.nanoTime() + (long) (o.pollTimeout * 1e9);
            int errors = 0;
            while (true) {
                long pause;
                try {
                    Map<String, Object> data = post(QUERY, new LinkedHashMap<>(Map.of("taskId", taskId)));
                    errors = 0;
                    Object status = data.get("taskStatus");
                    if ("finished".equals(status)) {
                        List<List<String>> urls = new ArrayList<>();
                        for (Object r : (List<?>) data.getOrDefault("taskResult", List.of())) {
                            List<String> one = new ArrayList<>();
                            Object list = ((Map<?, ?>) r).get("imageUrlList");
                            if (list instanceof List<?> l) {
                                for (Object u : l) one.add((String) u);
                            }
                            urls.add(one);
                        }
                        return urls;
                    }
                    if ("failed".equals(status)) throw new TaskFailedError(String.valueOf(data.get("taskMessage")));
                    pause = (long) (o.pollInterval * 1000);
                } catch (ApiError e) {
                    errors++;
                    if (!retryable(e) || errors >= o.maxAttempts) throw e;
                    pause = backoffMs(errors, o.pollInterval);
                }
                if (System.nanoTime() + pause * 1_000_000 > deadline) {
                    throw new CommunicationError("task " + taskId + " did not end within " + o.pollTimeout + " s");
                }
                Thread.sleep(pause);
            }
        }
    }

    static final class Options {
        Duration timeout = Duration.ofSeconds(3);
        int maxAttempts = 4;
        double backoff = 0.1, pollInterval = 0.25, pollTimeout = 4.0;
        String bug = "";

        static Options parse(String[] args) {
            Options o = new Options();
            for (int i = 0; i + 1 < args.length; i += 2) {
                String v = args[i + 1];
                switch (args[i]) {
                    case "--timeout" -> o.timeout = Duration.ofMillis((long) (Double.parseDouble(v) * 1000));
                    case "--max-attempts" -> o.maxAttempts = Integer.parseInt(v);
                    case "--backoff" -> o.backoff = Double.parseDouble(v);
                    case "--poll-interval" -> o.pollInterval = Double.parseDouble(v);
                    case "--poll-timeout" -> o.pollTimeout = Double.parseDouble(v);
                    case "--bug" -> o.bug = v;
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
            return o;
        }
    }

    // -- the protocol: one JSON object per line each way -----------------------------------------
    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        BackgroundClient client = null;
        String line;
        while ((line = in.readLine()) != null) {
            @SuppressWarnings("unchecked")
            Map<String, Object> message = (Map<String, Object>) Json.parse(line);
            Object op = message.get("op");
            Map<String, Object> reply = new LinkedHashMap<>();
            if ("open".equals(op)) {
                client = new BackgroundClient((String) message.get("baseUrl"), (String) message.get("appKey"),
                        (String) message.get("appSecret"), o);
                reply.put("ok", true);
                reply.put("wait", true);
            } else if ("close".equals(op)) {
                reply.put("ok", true);
            } else {
                try {
                    if ("submit".equals(op)) {
                        @SuppressWarnings("unchecked")
                        Map<String, Object> params = (Map<String, Object>) message.get("params");
                        reply.put("taskId", client.submit(params));
                    } else {
                        reply.put("urls", client.waitFor((String) message.get("taskId")));
                    }
                } catch (ApiError e) {
                    Map<String, Object> rejected = new LinkedHashMap<>();
                    rejected.put("code", e.code);
                    rejected.put("message", e.apiMessage);
                    reply.put("rejected", rejected);
                } catch (CommunicationError e) {
                    reply.put("transport", e.getMessage());
                } catch (TaskFailedError e) {
                    reply.put("taskFailed", e.getMessage());
                } catch (Exception e) {
                    e.printStackTrace();
                    reply.put("crash", e.toString());
                }
            }
            out.println(Json.write(reply));
            if ("close".equals(op)) break;
        }
    }

    /** Just enough JSON for the protocol and the API's answers (no library on the call path). */
    static final class Json {
        private final String s;
        private int i;

        private Json(String s) {
            this.s = s;
        }

        static Object parse(String text) {
            Json p = new Json(text);
            Object value = p.value();
            p.space();
            if (p.i != p.s.length()) throw new IllegalArgumentException("trailing text at " + p.i);
            return value;
        }

        private void space() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException(what + " at " + i);
        }

        private Object value() {
            space();
            if (i >= s.length()) throw error("unexpected end");
            char c = s.charAt(i);
            if (c == '{') {
                Map<String, Object> map = new LinkedHashMap<>();
                i++;
                space();
                if (i < s.length() && s.charAt(i) == '}') {
                    i++;
                    return map;
                }
                while (true) {
                    space();
                    if (i >= s.length() || s.charAt(i) != '"') throw error("expected a key");
                    String key = string();
                    space();
                    if (i >= s.length() || s.charAt(i++) != ':') throw error("expected ':'");
                    map.put(key, value());
                    space();
                    if (i >= s.length()) throw error("unexpected end");
                    char d = s.charAt(i++);
                    if (d == '}') return map;
                    if (d != ',') throw error("expected ',' or '}'");
                }
            }
            if (c == '[') {
                List<Object> list = new ArrayList<>();
                i++;
                space();
                if (i < s.length() && s.charAt(i) == ']') {
                    i++;
                    return list;
                }
                while (true) {
                    list.add(value());
                    space();
                    if (i >= s.length()) throw error("unexpected end");
                    char d = s.charAt(i++);
                    if (d == ']') return list;
                    if (d != ',') throw error("expected ',' or ']'");
                }
            }
            if (c == '"') return string();
            if (s.startsWith("true", i)) {
                i += 4;
                return true;
            }
            if (s.startsWith("false", i)) {
                i += 5;
                return false;
            }
            if (s.startsWith("null", i)) {
                i += 4;
                return null;
            }
            int start = i;
            while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
            String number = s.substring(start, i);
            if (number.isEmpty()) throw error("unexpected character");
            try {
                if (number.matches("-?\\d+")) return Long.parseLong(number);
                return Double.parseDouble(number);
            } catch (NumberFormatException e) {
                throw error("bad number");
            }
        }

        private String string() {
            StringBuilder out = new StringBuilder();
            i++;  // the opening quote
            while (true) {
                if (i >= s.length()) throw error("unterminated string");
                char c = s.charAt(i++);
                if (c == '"') return out.toString();
                if (c != '\\') {
                    out.append(c);
                    continue;
                }
                if (i >= s.length()) throw error("unterminated escape");
                char e = s.charAt(i++);
                switch (e) {
                    case 'n' -> out.append('\n');
                    case 't' -> out.append('\t');
                    case 'r' -> out.append('\r');
                    case 'b' -> out.append('\b');
                    case 'f' -> out.append('\f');
                    case 'u' -> {
                        if (i + 4 > s.length()) throw error("short \\u escape");
                        out.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        i += 4;
                    }
                    default -> out.append(e);  // " \ /
                }
            }
        }

        static String write(Object v) {
            StringBuilder out = new StringBuilder();
            write(v, out);
            return out.toString();
        }

        private static void write(Object v, StringBuilder out) {
            if (v == null) {
                out.append("null");
            } else if (v instanceof String str) {
                out.append('"');
                for (int k = 0; k < str.length(); k++) {
                    char c = str.charAt(k);
                    if (c == '"' || c == '\\') out.append('\\').append(c);
                    else if (c < 0x20 || c > 0x7e) out.append(String.format("\\u%04x", (int) c));
                    else out.append(c);
                }
                out.append('"');
            } else if (v instanceof Map<?, ?> map) {
                out.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : map.entrySet()) {
                    if (!first) out.append(',');
                    first = false;
                    write(String.valueOf(e.getKey()), out);
                    out.append(':');
                    write(e.getValue(), out);
                }
                out.append('}');
            } else if (v instanceof List<?> list) {
                out.append('[');
                for (int k = 0; k < list.size(); k++) {
                    if (k > 0) out.append(',');
                    write(list.get(k), out);
                }
                out.append(']');
            } else {
                out.append(v);  // Long, Double, Boolean
            }
        }
    }
}
