// A client built like the vendor's Java sample (api-family-notes.md): JDK 17 only,
// HttpsURLConnection, the scheme hard-coded, only the domain and the key pair configurable.
// Unlike the vendor's HttpUtils it does NOT trust every certificate: the JVM's trust store
// decides (java $(bgmock ca --java) ...), which is what proves bgmock's CA is trusted.
//
//   java VendorSample DOMAIN KEY SECRET   -> "finished N images SIZE SIZE ..." or exit 1
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import javax.net.ssl.HttpsURLConnection;

public class VendorSample {
    static final String SUBMIT = "/ai/image/background/generation/scenario";
    static final String QUERY = "/ai/image/background/generation/query";
    static final String ITEM = "[{\"modelNum\":\"mod001\",\"imageFileUrl\":\"https://cdn.example.com/p/mug.jpg\","
            + "\"width\":\"800\",\"height\":\"800\",\"imageNum\":\"2\"}]";

    static String sign(String secret, String timestamp) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        byte[] digest = mac.doFinal((secret + timestamp).getBytes(StandardCharsets.UTF_8));
        StringBuilder hex = new StringBuilder();
        for (byte b : digest) {
            hex.append(String.format("%02X", b));
        }
        return hex.toString();
    }

    static String quote(String text) {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    static byte[] read(HttpsURLConnection conn) throws Exception {
        int status = conn.getResponseCode();
        if (status != 200) {
            throw new RuntimeException("HTTP " + status + " from " + conn.getURL());
        }
        try (InputStream in = conn.getInputStream()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            return out.toByteArray();
        }
    }

    static String call(String domain, String api, String body, String key, String secret) throws Exception {
        String timestamp = String.valueOf(System.currentTimeMillis());
        String url = "https://" + domain + "/rest" + api + "?partner_id=aidge&sign_method=sha256&sign_ver=v2"
                + "&app_key=" + key + "&timestamp=" + timestamp + "&sign=" + sign(secret, timestamp);
        HttpsURLConnection conn = (HttpsURLConnection) new URL(url).openConnection();
        conn.setRequestMethod("POST");
        conn.setDoOutput(true);
        conn.setRequestProperty("Content-Type", "application/json");
        conn.setRequestProperty("x-iop-trial", "true");
        try (OutputStream out = conn.getOutputStream()) {
            out.write(body.getBytes(StandardCharsets.UTF_8));
        }
        return new String(read(conn), StandardCharsets.UTF_8);
    }

    static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\":\"([^\"]*)\"").matcher(json);
        if (!m.find()) {
            throw new RuntimeException("no " + name + " in " + json);
        }
        return m.group(1);
    }

    public static void main(String[] args) throws Exception {
        String domain = args[0], key = args[1], secret = args[2];
        String submitted = call(domain, SUBMIT, "{\"requestParams\":" + quote(ITEM) + "}", key, secret);
        String taskId = field(submitted, "taskId");
        String answer = "";
        for (int i = 0; i < 200; i++) {
            answer = call(domain, QUERY, "{\"taskId\":" + quote(taskId) + "}", key, secret);
            if (field(answer, "taskStatus").equals("finished")) {
                break;
            }
            Thread.sleep(100);
        }
        Matcher lists = Pattern.compile("\"imageUrlList\":\\[([^\\]]*)\\]").matcher(answer);
        List<Integer> sizes = new ArrayList<>();
        while (lists.find()) {
            Matcher urls = Pattern.compile("\"([^\"]+)\"").matcher(lists.group(1));
            while (urls.find()) {
                HttpsURLConnection conn = (HttpsURLConnection) new URL(urls.group(1)).openConnection();
                sizes.add(read(conn).length);
            }
        }
        StringBuilder line = new StringBuilder("finished " + sizes.size() + " images");
        for (int size : sizes) {
            line.append(" ").append(size);
        }
        System.out.println(line);
    }
}
