package lockstep;

import java.math.BigDecimal;

/** Strategy parameters: {@code key=value} pairs separated by ';' or newlines; the last wins. */
final class Params {
    private final String text;

    Params(String text) {
        this.text = text;
    }

    String get(String key) {
        String found = null;
        for (String seg : text.split("[;\n]")) {
            String s = seg.trim();
            if (s.isEmpty()) continue;
            int eq = s.indexOf('=');
            if (eq < 0) throw new IllegalArgumentException("parameter segment '" + s + "' is not key=value");
            if (s.substring(0, eq).trim().equals(key)) found = s.substring(eq + 1).trim();
        }
        return found;
    }

    /** A float parsed from text, correctly rounded like Rust's parser. */
    double f64(String key, double def) {
        String v = get(key);
        return v == null ? def : Double.parseDouble(v);
    }

    long i64(String key, long def) {
        String v = get(key);
        return v == null ? def : Long.parseLong(v);
    }

    /** A fixed-point mantissa with 8 decimal places, parsed exactly. */
    long fixed(String key, long def) {
        String v = get(key);
        return v == null ? def : new BigDecimal(v).movePointRight(8).longValueExact();
    }
}
