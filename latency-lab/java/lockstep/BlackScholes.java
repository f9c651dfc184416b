package lockstep;

/**
 * Line-by-line port of strategies/black-scholes (lib.rs and model.rs): Black-Scholes-Merton
 * price and greeks on every underlying tick, implied volatility on every option price. Only
 * + - * / and StrictMath exp/log/sqrt (fdlibm, like the Rust libm crate), evaluated in the same
 * order, so the same bits come out.
 */
final class BlackScholes extends Strategy {
    static final int SIG_PRICE = 1, SIG_DELTA = 2, SIG_GAMMA = 3, SIG_VEGA = 4, SIG_THETA = 5,
            SIG_RHO = 6, SIG_IV = 7;
    static final long DEFAULT_TENOR_NS = 30L * 86_400 * 1_000_000_000;
    static final long DEFAULT_YEAR_NS = 365L * 86_400 * 1_000_000_000;
    static final double INV_SQRT_2PI = 0.3989422804014327;
    static final double IV_MIN = 1e-4;
    static final double IV_MAX = 10.0;

    private final int underlying;
    private final int option;
    private final boolean call;
    private final double strike, rate, divYield, sigma;
    private boolean hasExpiry;
    private long expiryNs;
    private final long tenorNs;
    private final double yearNs;
    private final double ivTol;
    private final int ivMaxIter;
    private double spot = 0.0;

    BlackScholes(Params p) {
        underlying = (int) p.i64("underlying", 0);
        option = (int) p.i64("option", 1);
        String kind = p.get("kind");
        call = kind == null || kind.equals("call");
        strike = p.f64("strike", 100.0);
        sigma = p.f64("sigma", 0.2);
        ivTol = p.f64("iv_tol", 1e-10);
        rate = p.f64("rate", 0.05);
        divYield = p.f64("div_yield", 0.0);
        if (p.get("expiry_ns") != null) {
            hasExpiry = true;
            expiryNs = p.i64("expiry_ns", 0);
        }
        tenorNs = p.i64("tenor_ns", DEFAULT_TENOR_NS);
        yearNs = (double) p.i64("year_ns", DEFAULT_YEAR_NS);
        ivMaxIter = (int) p.i64("iv_max_iter", 100);
    }

    // ---- model.rs ----

    static double normCdf(double x) {
        double y = x < 0.0 ? -x : x;
        double tail;
        if (y > 37.0) {
            tail = 0.0;
        } else {
            double e = StrictMath.exp(-(y * y) / 2.0);
            if (y < 7.07106781186547) {
                double a = 3.52624965998911e-2 * y + 0.700383064443688;
                a = a * y + 6.37396220353165;
                a = a * y + 33.912866078383;
                a = a * y + 112.079291497871;
                a = a * y + 221.213596169931;
                a = a * y + 220.206867912376;
                double b = 8.83883476483184e-2 * y + 1.75566716318264;
                b = b * y + 16.064177579207;
                b = b * y + 86.7807322029461;
                b = b * y + 296.564248779674;
                b = b * y + 637.333633378831;
                b = b * y + 793.826512519948;
                b = b * y + 440.413735824752;
                tail = e * a / b;
            } else {
                double c = y + 0.65;
                c = y + 4.0 / c;
                c = y + 3.0 / c;
                c = y + 2.0 / c;
                c = y + 1.0 / c;
                tail = e / c / 2.506628274631;
            }
        }
        return x > 0.0 ? 1.0 - tail : tail;
    }

    static double normPdf(double x) {
        return StrictMath.exp(-(x * x) / 2.0) * INV_SQRT_2PI;
    }

    /** Price and greeks into {@code g}: price, delta, gamma, vega, theta, rho. */
    static void greeks(boolean call, double s, double k, double t, double r, double q, double sigma, double[] g) {
        double sqrtT = StrictMath.sqrt(t);
        double volT = sigma * sqrtT;
        double d1 = (StrictMath.log(s / k) + (r - q + sigma * sigma / 2.0) * t) / volT;
        double d2 = d1 - volT;
        double dfQ = StrictMath.exp(-q * t);
        double dfR = StrictMath.exp(-r * t);
        double sQ = s * dfQ;
        double kR = k * dfR;
        double pdfD1 = normPdf(d1);
        double gamma = dfQ * pdfD1 / (s * volT);
        double vega = sQ * pdfD1 * sqrtT;
        double decay = -(sQ * pdfD1 * sigma) / (2.0 * sqrtT);
        if (call) {
            double n1 = normCdf(d1);
            double n2 = normCdf(d2);
            g[0] = sQ * n1 - kR * n2;
            g[1] = dfQ * n1;
            g[2] = gamma;
            g[3] = vega;
            g[4] = decay - r * kR * n2 + q * sQ * n1;
            g[5] = kR * t * n2;
        } else {
            double n1 = normCdf(-d1);
            double n2 = normCdf(-d2);
            g[0] = kR * n2 - sQ * n1;
            g[1] = -(dfQ * n1);
            g[2] = gamma;
            g[3] = vega;
            g[4] = decay + r * kR * n2 - q * sQ * n1;
            g[5] = -(kR * t * n2);
        }
    }

    /** Price and vega into pv[0], pv[1]. */
    static void priceVega(boolean call, double s, double k, double t, double r, double q, double sigma, double[] pv) {
        double sqrtT = StrictMath.sqrt(t);
        double volT = sigma * sqrtT;
        double d1 = (StrictMath.log(s / k) + (r - q + sigma * sigma / 2.0) * t) / volT;
        double d2 = d1 - volT;
        double sQ = s * StrictMath.exp(-q * t);
        double kR = k * StrictMath.exp(-r * t);
        double vega = sQ * normPdf(d1) * sqrtT;
        double price = call ? sQ * normCdf(d1) - kR * normCdf(d2) : kR * normCdf(-d2) - sQ * normCdf(-d1);
        pv[0] = price;
        pv[1] = vega;
    }

    private final double[] pv = new double[2];
    private final double[] g = new double[6];

    /** Implied volatility, or NaN when there is none (the Rust {@code None}). */
    double impliedVol(double s, double k, double t, double r, double q, double target, double tol, int maxIter) {
        if (!(s > 0.0 && k > 0.0 && t > 0.0 && target > 0.0 && target < Double.MAX_VALUE)) {
            return Double.NaN;
        }
        double sQ = s * StrictMath.exp(-q * t);
        double kR = k * StrictMath.exp(-r * t);
        double intrinsic = call ? sQ - kR : kR - sQ;
        double cap = call ? sQ : kR;
        if (target <= intrinsic || target >= cap) {
            return Double.NaN;
        }
        double tolAbs = target > 1.0 ? tol * target : tol;
        double lo = IV_MIN;
        double hi = IV_MAX;
        double m = StrictMath.log(s / k) + (r - q) * t;
        double mAbs = m < 0.0 ? -m : m;
        double sig = StrictMath.sqrt(2.0 * mAbs / t);
        if (!(sig > lo && sig < hi)) {
            sig = 0.5 * (lo + hi);
        }
        for (int it = 0; it < maxIter; it++) {
            priceVega(call, s, k, t, r, q, sig, pv);
            double price = pv[0];
            double vega = pv[1];
            double diff = price - target;
            double diffAbs = diff < 0.0 ? -diff : diff;
            if (diffAbs <= tolAbs) {
                return sig;
            }
            if (diff > 0.0) {
                hi = sig;
            } else {
                lo = sig;
            }
            double next = vega > 0.0 ? sig - diff / vega : lo;
            if (!(next > lo && next < hi)) {
                next = 0.5 * (lo + hi);
            }
            if (!(next > lo && next < hi)) {
                return Double.NaN;
            }
            sig = next;
        }
        return Double.NaN;
    }

    // ---- lib.rs ----

    static double toF64(long p) {
        return (double) p / 1e8;
    }

    /** The mid of a two-sided quote, or NaN when a side is missing or crossed. */
    static double mid(long bid, long ask) {
        return (bid > 0 && ask > 0 && ask >= bid) ? (toF64(bid) + toF64(ask)) * 0.5 : Double.NaN;
    }

    private double yearsLeft(long now) {
        if (!hasExpiry) {
            expiryNs = satAdd(now, tenorNs);
            hasExpiry = true;
        }
        return (double) satSub(expiryNs, now) / yearNs;
    }

    private void onSpot(Event e, double s, Actions out) {
        spot = s;
        double t = yearsLeft(e.localTs);
        if (t > 0.0) {
            greeks(call, spot, strike, t, rate, divYield, sigma, g);
        } else {
            double itm = call ? s - strike : strike - s;
            double sign = call ? 1.0 : -1.0;
            g[0] = itm > 0.0 ? itm : 0.0;
            g[1] = itm > 0.0 ? sign : 0.0;
            g[2] = 0.0;
            g[3] = 0.0;
            g[4] = 0.0;
            g[5] = 0.0;
        }
        int o = option;
        out.signalF64(o, SIG_PRICE, g[0]);
        out.signalF64(o, SIG_DELTA, g[1]);
        out.signalF64(o, SIG_GAMMA, g[2]);
        out.signalF64(o, SIG_VEGA, g[3]);
        out.signalF64(o, SIG_THETA, g[4]);
        out.signalF64(o, SIG_RHO, g[5]);
    }

    private void onOptionPrice(Event e, double price, Actions out) {
        double t = yearsLeft(e.localTs);
        if (spot <= 0.0 || t <= 0.0) {
            return;
        }
        double iv = impliedVol(spot, strike, t, rate, divYield, price, ivTol, ivMaxIter);
        if (!Double.isNaN(iv)) {
            out.signalF64(option, SIG_IV, iv);
        }
    }

    private void onPrice(Event e, double price, Actions out) {
        if (Double.isNaN(price)) {
            yearsLeft(e.localTs);
            return;
        }
        if (e.instrument == underlying) {
            onSpot(e, price, out);
        } else if (e.instrument == option) {
            onOptionPrice(e, price, out);
        } else {
            yearsLeft(e.localTs);
        }
    }

    @Override
    void onQuote(Event e, Actions out) {
        onPrice(e, mid(e.p0, e.p2), out);
    }

    @Override
    void onBook(Event e, Actions out) {
        double px = (bidCount() > 0 && askCount() > 0) ? mid(bidPx(0), askPx(0)) : Double.NaN;
        onPrice(e, px, out);
    }

    @Override
    void onTrade(Event e, Actions out) {
        onPrice(e, e.p0 > 0 ? toF64(e.p0) : Double.NaN, out);
    }
}
