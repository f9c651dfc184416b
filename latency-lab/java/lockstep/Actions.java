package lockstep;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/** The action sink: up to {@link #CAP} 64-byte little-endian action records (ABI v1). */
final class Actions {
    static final int CAP = 64;
    static final int SIZE = 64;
    final byte[] bytes = new byte[CAP * SIZE];
    private final ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    int count;
    boolean overflow;

    void clear() {
        count = 0;
        overflow = false;
    }

    private int slot(int kind, int instrument) {
        if (count >= CAP) {
            overflow = true;
            return -1;
        }
        int o = count * SIZE;
        Arrays.fill(bytes, o, o + SIZE, (byte) 0);
        count++;
        buf.putShort(o, (short) kind);
        buf.putShort(o + 2, (short) instrument);
        return o;
    }

    void placeLimit(int instrument, long orderId, int side, long px, long qty) {
        int o = slot(1, instrument);
        if (o < 0) return;
        bytes[o + 4] = (byte) side;
        buf.putLong(o + 8, orderId);
        buf.putLong(o + 16, px);
        buf.putLong(o + 24, qty);
    }

    void placeMarket(int instrument, long orderId, int side, long qty) {
        int o = slot(2, instrument);
        if (o < 0) return;
        bytes[o + 4] = (byte) side;
        buf.putLong(o + 8, orderId);
        buf.putLong(o + 24, qty);
    }

    void cancel(int instrument, long orderId) {
        int o = slot(3, instrument);
        if (o < 0) return;
        buf.putLong(o + 8, orderId);
    }

    void replace(int instrument, long orderId, long px, long qty) {
        int o = slot(4, instrument);
        if (o < 0) return;
        buf.putLong(o + 8, orderId);
        buf.putLong(o + 16, px);
        buf.putLong(o + 24, qty);
    }

    void setTimer(long timerId, long at) {
        int o = slot(5, 0);
        if (o < 0) return;
        buf.putLong(o + 8, timerId);
        buf.putLong(o + 32, at);
    }

    /** A fixed-point value (value times 1e8). */
    void signal(int instrument, int id, long value) {
        int o = slot(6, instrument);
        if (o < 0) return;
        buf.putLong(o + 32, value);
        buf.putLong(o + 40, id & 0xffffffffL);
    }

    void signalF64(int instrument, int id, double value) {
        signal(instrument, id, f64ToFixed(value));
    }

    /**
     * The SDK's {@code f64_to_fixed}: times 1e8, rounded half away from zero; Long.MIN_VALUE for
     * NaN, infinities and values out of range.
     */
    static long f64ToFixed(double value) {
        double scaled = value * 1e8;
        if (!Double.isFinite(scaled) || Math.abs(scaled) >= 9.2e18) {
            return Long.MIN_VALUE;
        }
        double t = scaled < 0.0 ? Math.ceil(scaled) : Math.floor(scaled);
        double r = Math.abs(scaled - t) >= 0.5 ? t + Math.signum(scaled) : t;
        return (long) r;
    }
}
