package lockstep;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Base of the Java ports: decodes one 64-byte little-endian event record (Lockstep ABI v1) and
 * calls one handler, exactly like the Rust SDK's {@code dispatch}. Book events first copy the
 * 328-byte L2 record into this strategy's book region, as the engine copies it into a guest.
 */
abstract class Strategy {
    static final int QUOTE = 1, TRADE = 2, BOOK = 3, ORDER_ACK = 4, FILL = 5, REJECT = 6,
            CANCELED = 7, TIMER = 8;
    static final int BUY = 1, SELL = 2;
    static final int BOOK_LEVELS = 10;
    static final int BOOK_SIZE = 8 + 2 * BOOK_LEVELS * 16;

    /** The current event, decoded in place (one object, reused: nothing allocated per event). */
    static final class Event {
        int kind, instrument, flags;
        long seq, exchangeTs, localTs, p0, p1, p2, p3;
    }

    private final byte[] bookBytes = new byte[BOOK_SIZE];
    /** The L2 view of the last book event. */
    final ByteBuffer book = ByteBuffer.wrap(bookBytes).order(ByteOrder.LITTLE_ENDIAN);
    private final Event ev = new Event();

    int bidCount() {
        return Math.min(book.getShort(2) & 0xffff, BOOK_LEVELS);
    }

    int askCount() {
        return Math.min(book.getShort(4) & 0xffff, BOOK_LEVELS);
    }

    long bidPx(int i) {
        return book.getLong(8 + 16 * i);
    }

    long askPx(int i) {
        return book.getLong(8 + 16 * BOOK_LEVELS + 16 * i);
    }

    static int side(Event e) {
        int s = e.flags & 0xff;
        if (s != BUY && s != SELL) {
            throw new IllegalStateException("side byte " + s + " is invalid at seq " + e.seq);
        }
        return s;
    }

    final void onEvent(ByteBuffer tape, int off, int bookOff, Actions out) {
        if (bookOff >= 0) {
            tape.get(bookOff, bookBytes);
        }
        Event e = ev;
        e.kind = tape.getShort(off) & 0xffff;
        e.instrument = tape.getShort(off + 2) & 0xffff;
        e.flags = tape.getInt(off + 4);
        e.seq = tape.getLong(off + 8);
        e.exchangeTs = tape.getLong(off + 16);
        e.localTs = tape.getLong(off + 24);
        e.p0 = tape.getLong(off + 32);
        e.p1 = tape.getLong(off + 40);
        e.p2 = tape.getLong(off + 48);
        e.p3 = tape.getLong(off + 56);
        switch (e.kind) {
            case QUOTE: onQuote(e, out); break;
            case TRADE: onTrade(e, out); break;
            case BOOK: onBook(e, out); break;
            case ORDER_ACK: side(e); onOrderAck(e, out); break;
            case FILL: side(e); onFill(e, out); break;
            case REJECT: onReject(e, out); break;
            case CANCELED: onCanceled(e, out); break;
            case TIMER: onTimer(e, out); break;
            default: throw new IllegalStateException("unknown event kind " + e.kind + " at seq " + e.seq);
        }
        if (out.overflow) {
            throw new IllegalStateException("more than " + Actions.CAP + " actions at seq " + e.seq);
        }
    }

    /** Quote: p0 bid px, p1 bid qty, p2 ask px, p3 ask qty. */
    void onQuote(Event e, Actions out) {}
    /** Trade: p0 px, p1 qty, flags aggressor side (0 = unknown). */
    void onTrade(Event e, Actions out) {}
    /** Book changed: see {@link #book}. */
    void onBook(Event e, Actions out) {}
    /** Order ack: p0 id, p1 px, p2 qty, flags side. */
    void onOrderAck(Event e, Actions out) {}
    /** Fill: p0 id, p1 px, p2 qty, p3 leaves, flags side. */
    void onFill(Event e, Actions out) {}
    /** Reject: p0 id, flags reason. */
    void onReject(Event e, Actions out) {}
    /** Canceled: p0 id, p1 qty. */
    void onCanceled(Event e, Actions out) {}
    /** Timer: p0 id. */
    void onTimer(Event e, Actions out) {}

    static long satAdd(long a, long b) {
        long r = a + b;
        if (((a ^ r) & (b ^ r)) < 0) {
            return a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
        return r;
    }

    static long satSub(long a, long b) {
        long r = a - b;
        if (((a ^ b) & (a ^ r)) < 0) {
            return a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
        return r;
    }
}
