package lockstep;

import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The JVM column of latency-lab compare: replays a tape through a Java port of a strategy,
 * timing each event with System.nanoTime, and writes the actions and latencies back.
 *
 * <pre>
 * java lockstep.Bench --strategy NAME --params TEXT --tape FILE --warmup N
 *                     --actions OUT --latency OUT [--capacity BYTES]
 * </pre>
 *
 * Tape: a replay trace (little-endian): "LSTRACE2", the init call (u64 fuel, u16 n, n 64-byte
 * actions), then per event u64 seq, u64 fuel, its 64-byte record, for book events the 328-byte
 * book record, u16 n and n 64-byte actions (the reference's, not read here). Actions: per call (init first, then each event) a u16
 * count and that many 64-byte records. Latency: one little-endian long (ns) per event. One JSON
 * line of facts goes to stdout.
 */
public final class Bench {
    private Bench() {}

    private static String arg(String[] a, int i) {
        if (i >= a.length) throw new IllegalArgumentException(a[i - 1] + " needs a value");
        return a[i];
    }

    static Strategy create(String name, Params p) {
        switch (name) {
            case "black-scholes": return new BlackScholes(p);
            case "avellaneda-stoikov": return new AvellanedaStoikov(p);
            default: throw new IllegalArgumentException("no Java port of strategy '" + name + "'");
        }
    }

    private static double nanoTimeCost() {
        long sink = 0;
        int n = 2_000_000;
        for (int i = 0; i < n; i++) sink += System.nanoTime();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) sink += System.nanoTime();
        long t1 = System.nanoTime();
        if (sink == 42) System.err.print("");
        return (double) (t1 - t0) / n;
    }

    private static String esc(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }

    private static void write(Path p, ByteBuffer b) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            while (b.hasRemaining()) ch.write(b);
        }
    }

    public static void main(String[] args) throws IOException {
        String strategy = null, params = "", tapePath = null, actionsPath = null, latPath = null;
        int warmup = 0;
        int capacity = 1 << 20;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--strategy": strategy = arg(args, ++i); break;
                case "--params": params = arg(args, ++i); break;
                case "--tape": tapePath = arg(args, ++i); break;
                case "--warmup": warmup = Integer.parseInt(arg(args, ++i)); break;
                case "--actions": actionsPath = arg(args, ++i); break;
                case "--latency": latPath = arg(args, ++i); break;
                case "--capacity": capacity = Integer.parseInt(arg(args, ++i)); break;
                default: throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (strategy == null || tapePath == null || actionsPath == null || latPath == null) {
            throw new IllegalArgumentException("--strategy, --tape, --actions and --latency are required");
        }
        byte[] raw = Files.readAllBytes(Path.of(tapePath));
        ByteBuffer tape = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        if (raw.length < 18 || !new String(raw, 0, 8, StandardCharsets.US_ASCII).equals("LSTRACE2")) {
            throw new IllegalArgumentException(tapePath + ": not a replay trace (LSTRACE2)");
        }
        int at = 16;
        at += 2 + (tape.getShort(at) & 0xffff) * Actions.SIZE;
        int cap = 1024;
        int[] evOff = new int[cap];
        int[] bookOff = new int[cap];
        int n = 0;
        while (at < raw.length) {
            if (at + 16 + 64 + 2 > raw.length) {
                throw new IllegalArgumentException(tapePath + ": event " + n + " is cut short at offset " + at);
            }
            if (n == cap) {
                cap *= 2;
                evOff = java.util.Arrays.copyOf(evOff, cap);
                bookOff = java.util.Arrays.copyOf(bookOff, cap);
            }
            at += 16;
            evOff[n] = at;
            int kind = tape.getShort(at) & 0xffff;
            at += 64;
            if (kind == Strategy.BOOK) {
                bookOff[n] = at;
                at += Strategy.BOOK_SIZE;
            } else {
                bookOff[n] = -1;
            }
            if (at + 2 > raw.length) {
                throw new IllegalArgumentException(tapePath + ": event " + n + " is cut short at offset " + at);
            }
            at += 2 + (tape.getShort(at) & 0xffff) * Actions.SIZE;
            n++;
        }
        if (at != raw.length) throw new IllegalArgumentException(tapePath + ": length mismatch at offset " + at);

        double clockCost = nanoTimeCost();
        Actions out = new Actions();
        Strategy s = create(strategy, new Params(params));
        ByteBuffer outBuf = ByteBuffer.allocate(capacity).order(ByteOrder.LITTLE_ENDIAN);
        outBuf.putShort((short) 0); // init emits nothing in the ported strategies
        long[] lat = new long[n];
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            out.clear();
            s.onEvent(tape, evOff[i], bookOff[i], out);
            long t1 = System.nanoTime();
            lat[i] = t1 - t0;
            int need = 2 + out.count * Actions.SIZE;
            if (outBuf.remaining() < need) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(outBuf.capacity() * 2, outBuf.capacity() + need))
                        .order(ByteOrder.LITTLE_ENDIAN);
                outBuf.flip();
                bigger.put(outBuf);
                outBuf = bigger;
            }
            outBuf.putShort((short) out.count);
            outBuf.put(out.bytes, 0, out.count * Actions.SIZE);
        }
        long runNs = System.nanoTime() - start;

        outBuf.flip();
        write(Path.of(actionsPath), outBuf);
        ByteBuffer lb = ByteBuffer.allocate(n * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : lat) lb.putLong(v);
        lb.flip();
        write(Path.of(latPath), lb);

        long gcCount = 0, gcMs = 0;
        StringBuilder gcNames = new StringBuilder();
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            gcCount += Math.max(0, gc.getCollectionCount());
            gcMs += Math.max(0, gc.getCollectionTime());
            if (gcNames.length() > 0) gcNames.append(", ");
            gcNames.append(gc.getName());
        }
        long jitMs = ManagementFactory.getCompilationMXBean() == null ? -1
                : ManagementFactory.getCompilationMXBean().getTotalCompilationTime();
        System.out.println("{\"vm\":\"" + esc(System.getProperty("java.vm.name")) + "\""
                + ",\"version\":\"" + esc(System.getProperty("java.version")) + "\""
                + ",\"events\":" + n
                + ",\"warmup\":" + warmup
                + ",\"run_ns\":" + runNs
                + ",\"nanotime_ns_per_read\":" + clockCost
                + ",\"gc\":\"" + esc(gcNames.toString()) + "\""
                + ",\"gc_count\":" + gcCount
                + ",\"gc_ms\":" + gcMs
                + ",\"jit_ms\":" + jitMs
                + ",\"available_processors\":" + Runtime.getRuntime().availableProcessors()
                + ",\"heap_max_bytes\":" + Runtime.getRuntime().maxMemory()
                + "}");
    }
}
