package lockstep;

import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * Port of strategies/avellaneda-stoikov (lib.rs, model.rs, quoter.rs) with java.math.BigDecimal,
 * as a JVM shop would write a decimal market maker: reservation price r = s - q*gamma*sigma^2*tau,
 * spread gamma*sigma^2*tau + (2/gamma)ln(1 + gamma/k), one bid and one ask kept on the book.
 * Same steps, same rounding (HALF_UP = half away from zero), same order ids, same actions.
 */
final class AvellanedaStoikov extends Strategy {
    static final int SIG_RESERVATION = 1, SIG_SPREAD = 2, SIG_INVENTORY = 3;
    static final int UNKNOWN_ORDER = 1;
    static final BigDecimal HALF = BigDecimal.valueOf(5, 1);
    static final BigDecimal E8 = BigDecimal.valueOf(100_000_000L);
    static final long ONE = 100_000_000L;

    private final int instrument;
    private final BigDecimal gammaSigma2;
    private final BigDecimal spreadConst;
    private final long tick;
    private final long horizonNs;
    private boolean hasEnd;
    private long endNs;
    private final BigDecimal maxInventory;
    private final BigDecimal minInventory;
    private BigDecimal inventory = BigDecimal.ZERO;
    private BigDecimal mid;
    private final long orderQty;

    /** One resting quote (quoter.rs `Working`). */
    private static final class Working {
        long id;
        long px;
        boolean acked;
        long ackedPx;
        boolean cancelSent;
    }

    private Working bid;
    private Working ask;
    private long nextId = 1;

    AvellanedaStoikov(Params p) {
        instrument = (int) p.i64("instrument", 0);
        BigDecimal gamma = BigDecimal.valueOf(p.fixed("gamma", 10_000_000L), 8);
        BigDecimal sigma = BigDecimal.valueOf(p.fixed("sigma", 5_000_000L), 8);
        gammaSigma2 = round(gamma.multiply(sigma).multiply(sigma), 12);
        double gf = p.f64("gamma", 0.1);
        double kf = p.f64("k", 100.0);
        double c = 2.0 / gf * StrictMath.log1p(gf / kf);
        spreadConst = BigDecimal.valueOf(Actions.f64ToFixed(c), 8);
        horizonNs = p.i64("horizon_ns", 300_000_000_000L);
        if (p.get("start_ns") != null) {
            hasEnd = true;
            endNs = satAdd(p.i64("start_ns", 0), horizonNs);
        }
        tick = p.fixed("tick", 1_000_000L);
        orderQty = p.fixed("order_qty", ONE);
        maxInventory = BigDecimal.valueOf(p.fixed("max_inventory", 10 * ONE), 8);
        minInventory = maxInventory.negate();
    }

    /** rust_decimal's round_dp_with_strategy(dp, MidpointAwayFromZero): never adds places. */
    static BigDecimal round(BigDecimal x, int dp) {
        return x.scale() > dp ? x.setScale(dp, RoundingMode.HALF_UP) : x;
    }

    /** Price::from_decimal: round to 8 places half away from zero; Long.MIN_VALUE if it does not fit. */
    static long fixed(BigDecimal d) {
        BigDecimal r = d.setScale(8, RoundingMode.HALF_UP);
        java.math.BigInteger m = r.unscaledValue();
        return m.bitLength() > 63 ? Long.MIN_VALUE : m.longValue();
    }

    /** floor_to_tick: the largest multiple of tick at or below x, as a mantissa; null-free: -1 flags overflow. */
    private static boolean floorToTick(BigDecimal x, long tick, long[] out) {
        BigDecimal u = x.multiply(E8).setScale(0, RoundingMode.FLOOR);
        if (u.unscaledValue().bitLength() > 63) return false;
        long units = u.longValueExact();
        long n = Math.floorDiv(units, tick);
        long r = n * tick;
        if (n != 0 && r / n != tick) return false;
        out[0] = r;
        return true;
    }

    private static boolean ceilToTick(BigDecimal x, long tick, long[] out) {
        BigDecimal u = x.multiply(E8).setScale(0, RoundingMode.CEILING);
        if (u.unscaledValue().bitLength() > 63) return false;
        long units = u.longValueExact();
        long n = Math.floorDiv(units, tick) + (Math.floorMod(units, tick) != 0 ? 1 : 0);
        long r = n * tick;
        if (n != 0 && r / n != tick) return false;
        out[0] = r;
        return true;
    }

    private final long[] tmp = new long[1];

    private void requote(long now, Actions out) {
        if (mid == null) return;
        if (!hasEnd) {
            endNs = satAdd(now, horizonNs);
            hasEnd = true;
        }
        long remaining = satSub(endNs, now);
        // Model::quotes
        BigDecimal tau = BigDecimal.valueOf(Math.max(remaining, 0L), 9);
        BigDecimal risk = round(gammaSigma2.multiply(tau), 8);
        BigDecimal skew = round(inventory.multiply(risk), 8);
        BigDecimal reservation = mid.subtract(skew);
        BigDecimal spread = risk.add(spreadConst);
        BigDecimal half = spread.multiply(HALF);
        if (!floorToTick(reservation.subtract(half), tick, tmp)) return;
        long bidPx = tmp[0];
        if (!ceilToTick(reservation.add(half), tick, tmp)) return;
        long askPx = tmp[0];
        if (askPx <= bidPx) {
            long a = bidPx + tick;
            if (((bidPx ^ a) & (tick ^ a)) < 0) return;
            askPx = a;
        }
        out.signal(instrument, SIG_RESERVATION, fixed(reservation));
        out.signal(instrument, SIG_SPREAD, fixed(spread));
        out.signal(instrument, SIG_INVENTORY, fixed(inventory));
        boolean wantBid = bidPx > 0 && inventory.compareTo(maxInventory) < 0;
        boolean wantAsk = askPx > 0 && inventory.compareTo(minInventory) > 0;
        sync(BUY, wantBid, bidPx, out);
        sync(SELL, wantAsk, askPx, out);
    }

    private void onTop(Event e, long bidPx, long askPx, Actions out) {
        if (e.instrument != instrument) return;
        if (bidPx > 0 && askPx >= bidPx) {
            mid = BigDecimal.valueOf(bidPx, 8).add(BigDecimal.valueOf(askPx, 8)).multiply(HALF);
            requote(e.localTs, out);
        }
    }

    @Override
    void onQuote(Event e, Actions out) {
        onTop(e, e.p0, e.p2, out);
    }

    @Override
    void onBook(Event e, Actions out) {
        if (bidCount() > 0 && askCount() > 0) {
            onTop(e, bidPx(0), askPx(0), out);
        }
    }

    @Override
    void onOrderAck(Event e, Actions out) {
        Working w = find(e.p0);
        if (w != null) {
            w.acked = true;
            w.ackedPx = e.p1;
        }
    }

    @Override
    void onFill(Event e, Actions out) {
        Working w = find(e.p0);
        if (w == null) return;
        if (e.p3 <= 0) clear(w);
        BigDecimal filled = BigDecimal.valueOf(e.p2, 8);
        inventory = side(e) == BUY ? inventory.add(filled) : inventory.subtract(filled);
        requote(e.localTs, out);
    }

    @Override
    void onReject(Event e, Actions out) {
        Working w = find(e.p0);
        if (w == null) return;
        if (w.acked && !w.cancelSent && e.flags != UNKNOWN_ORDER) {
            w.px = w.ackedPx;
        } else {
            clear(w);
        }
    }

    @Override
    void onCanceled(Event e, Actions out) {
        Working w = find(e.p0);
        if (w != null) clear(w);
    }

    // ---- quoter.rs ----

    private Working find(long id) {
        if (bid != null && bid.id == id) return bid;
        if (ask != null && ask.id == id) return ask;
        return null;
    }

    private void clear(Working w) {
        if (w == bid) bid = null;
        else if (w == ask) ask = null;
    }

    private void sync(int side, boolean want, long px, Actions out) {
        Working w = side == BUY ? bid : ask;
        if (w == null) {
            if (want) {
                Working n = new Working();
                n.id = nextId;
                n.px = px;
                if (side == BUY) bid = n; else ask = n;
                out.placeLimit(instrument, nextId, side, px, orderQty);
                nextId++;
            }
        } else if (want) {
            if (!w.cancelSent && w.acked && w.px != px) {
                w.px = px;
                out.replace(instrument, w.id, px, orderQty);
            }
        } else if (!w.cancelSent) {
            w.cancelSent = true;
            out.cancel(instrument, w.id);
        }
    }
}
