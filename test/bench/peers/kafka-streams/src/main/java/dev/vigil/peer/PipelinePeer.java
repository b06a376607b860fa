// The Kafka Streams peer of `npm run bench:pipeline`: vigil's detector topology written as an Apache Kafka Streams
// application, run on the same broker and input topic, so the bench can state vigil's throughput as a ratio to it.
//
//   input (Kong JSON) ─ parse: JSON, HMAC-SHA256 fingerprint of the bearer token, JWT `sub` ─┬─ failures → <output>.dead-letter
//                                                                                           ├─ re-key by principal ─ repartition "by-principal" ──────────────┐
//                                                                                           └─ re-key by client IP ─ repartition "by-ip"                     │
//                                                     ip-state store: the IP's features ─ part keyed by principal ─ repartition "ip-parts" ─┤ merged
//   principal-state store: the principal's features; pending-joins store: request id → the side that came first; both met → decision ─ output
//
// See README.md for how each step maps onto vigil's and why each setting is what it is.
// Usage: java -jar pipeline-peer.jar --brokers HOST:PORT --input TOPIC --output TOPIC --events N
//          [--guarantee exactly_once|at_least_once] [--threads T] [--commit-ms MS] [--timeout-s S] [--state-dir DIR]
//          [--compression none|lz4|…] [--pepper SECRET] [--set any.streams.or.client.config=value]…
// Prints one JSON line last on stdout: {"events_per_s":…,"events":N,"seconds":…,"guarantee":…,…}.
package dev.vigil.peer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

public final class PipelinePeer {
  static final ObjectMapper JSON = new ObjectMapper();

  // ---------------------------------------------------------------------------------------------------------------
  // Records between the stages (JSON on the repartition topics, as vigil's internal topics are).

  /** The compact access event the parse stage emits. */
  public record Event(long ts, String rid, String principal, String ip, String method, String uri, String route, int status, long bytes,
      int latency, String fp) {}

  /** The IP stage's features for one request, on its way back to the request's principal. */
  public record IpPart(String rid, String principal, double[] f) {}

  /** A request in the pending-joins store: whichever side arrived first (the other is null). */
  public record Pending(Event e, double[] pf, double[] ipf) {}

  /** What the parse stage hands on: an event, or why the record is dead-lettered. */
  record Parsed(Event event, String deadLetter) {}

  /** Either side of the join, merged onto one principal-keyed stream (never serialised). */
  record Msg(Event event, IpPart part) {}

  static final class JsonSerde<T> implements Serde<T> {
    private final ObjectWriter writer;
    private final ObjectReader reader;

    JsonSerde(Class<T> type) {
      this.writer = JSON.writerFor(type);
      this.reader = JSON.readerFor(type);
    }

    @Override
    public Serializer<T> serializer() {
      return (topic, v) -> {
        if (v == null) return null;
        try {
          return writer.writeValueAsBytes(v);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      };
    }

    @Override
    public Deserializer<T> deserializer() {
      return (topic, b) -> {
        if (b == null) return null;
        try {
          return reader.readValue(b);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      };
    }
  }

  static final JsonSerde<Event> EVENT_SERDE = new JsonSerde<>(Event.class);
  static final JsonSerde<IpPart> PART_SERDE = new JsonSerde<>(IpPart.class);
  static final JsonSerde<Pending> PENDING_SERDE = new JsonSerde<>(Pending.class);

  // ---------------------------------------------------------------------------------------------------------------
  // Parse stage: JSON, token fingerprint (HMAC-SHA256 with the pepper), JWT claims, principal; failures dead-lettered.

  static final class ParseStage implements FixedKeyProcessor<String, String, Parsed> {
    private static final int CACHE_CAPACITY = 16_384;
    private final byte[] pepper;
    private FixedKeyProcessorContext<String, Parsed> ctx;
    private Mac mac;
    /** Fingerprint and `sub` of recently seen credentials (vigil's CredentialCache: one token serves many requests). */
    private final LinkedHashMap<String, String[]> credentials = new LinkedHashMap<>(CACHE_CAPACITY * 2) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, String[]> eldest) {
        return size() > CACHE_CAPACITY;
      }
    };

    ParseStage(byte[] pepper) {
      this.pepper = pepper;
    }

    @Override
    public void init(FixedKeyProcessorContext<String, Parsed> context) {
      this.ctx = context;
      try {
        mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(pepper, "HmacSHA256"));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }

    @Override
    public void process(FixedKeyRecord<String, String> record) {
      Parsed out;
      try {
        out = new Parsed(parse(record.value()), null);
      } catch (Exception e) {
        // The record itself stays out of the dead letter (it can hold credentials): why, and where it is.
        var meta = ctx.recordMetadata().orElse(null);
        ObjectNode dl = JSON.createObjectNode();
        dl.put("error", String.valueOf(e.getMessage()));
        if (meta != null) {
          dl.put("topic", meta.topic());
          dl.put("partition", meta.partition());
          dl.put("offset", meta.offset());
        }
        out = new Parsed(null, dl.toString());
      }
      ctx.forward(record.withValue(out));
    }

    private Event parse(String value) throws IOException {
      if (value == null) throw new IllegalArgumentException("value: null");
      JsonNode root = JSON.readTree(value);
      if (root == null || !root.isObject()) throw new IllegalArgumentException("value: not a JSON object");
      JsonNode started = root.get("started_at");
      if (started == null || !started.isNumber()) throw new IllegalArgumentException("started_at: not a number");
      String ip = text(root, "client_ip");
      JsonNode req = root.get("request");
      if (req == null || !req.isObject()) throw new IllegalArgumentException("request: not an object");
      String method = text(req, "method");
      String uri = text(req, "uri");
      JsonNode resp = root.get("response");
      if (resp == null || !resp.isObject() || !resp.path("status").isInt()) throw new IllegalArgumentException("response.status: not an integer");
      String rid = req.path("id").asText(null);
      if (rid == null || rid.isEmpty()) {
        var meta = ctx.recordMetadata().orElseThrow();
        rid = meta.partition() + "-" + meta.offset();
      }
      String fp = null;
      String sub = null;
      String auth = req.path("headers").path("authorization").asText(null);
      if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
        String token = auth.substring(7).trim();
        String[] facts = credentials.get(token);
        if (facts == null) {
          facts = new String[] {fingerprint(token), jwtSub(token)};
          credentials.put(token, facts);
        }
        fp = facts[0];
        sub = facts[1];
      }
      String principal = sub != null ? "sub:" + sub : fp != null ? "fp:" + fp : "ip:" + ip;
      return new Event(started.asLong(), rid, principal, ip, method, uri, route(uri), resp.get("status").asInt(), resp.path("size").asLong(0),
          root.path("latencies").path("request").asInt(0), fp);
    }

    private static String text(JsonNode o, String field) {
      JsonNode v = o.get(field);
      if (v == null || !v.isTextual() || v.asText().isEmpty()) throw new IllegalArgumentException(field + ": not a non-empty string");
      return v.asText();
    }

    private String fingerprint(String credential) {
      return "v1:" + HexFormat.of().formatHex(mac.doFinal(credential.getBytes(StandardCharsets.UTF_8)));
    }

    /** The `sub` claim of a JWT's payload (not verified: vigil reads claims, the gateway verified the token). */
    private static String jwtSub(String token) {
      int a = token.indexOf('.');
      int b = a < 0 ? -1 : token.indexOf('.', a + 1);
      if (b < 0) return null;
      try {
        JsonNode claims = JSON.readTree(Base64.getUrlDecoder().decode(token.substring(a + 1, b)));
        JsonNode sub = claims == null ? null : claims.get("sub");
        return sub != null && sub.isTextual() ? sub.asText() : null;
      } catch (Exception e) {
        return null;
      }
    }

    /** The URI's path with its numeric and id-like segments templated: /v1/accounts/40000007/x?page=3 → /v1/accounts/{n}/x. */
    static String route(String uri) {
      int q = uri.indexOf('?');
      String path = q < 0 ? uri : uri.substring(0, q);
      StringBuilder sb = new StringBuilder(path.length());
      int i = 0;
      while (i < path.length()) {
        int j = path.indexOf('/', i + 1);
        if (j < 0) j = path.length();
        String seg = path.substring(i, j); // starts with '/' except possibly the first
        boolean id = seg.length() > 1;
        for (int k = 1; k < seg.length() && id; k++) {
          char c = seg.charAt(k);
          id = Character.isDigit(c) || (seg.length() > 17 && (c == '-' || (c >= 'a' && c <= 'f')));
        }
        sb.append(id ? "/{n}" : seg);
        i = j;
      }
      return sb.toString();
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Feature state: exponentially decayed counters and 64-bit occupancy bitmaps (distinct counts by linear counting).

  static final double MINUTE = 60_000, HOUR = 3_600_000;

  static double decay(double v, long dt, double tau) {
    return dt <= 0 ? v : v * Math.exp(-dt / tau);
  }

  static double distinct(long bits) {
    int set = Long.bitCount(bits);
    return set >= 64 ? 64 * Math.log(64) : -64 * Math.log(1 - set / 64.0);
  }

  static long bit(String s) {
    return 1L << (s.hashCode() & 63);
  }

  /** One principal's state: fixed-size binary in RocksDB (one store entry per principal). */
  static final class PrincipalState {
    static final int SIZE = 8 * 10;
    long lastTs, hourStart, routeBits, ipBits, count;
    double reqMin, reqHour, errMin, bytesMin, ipChanges;
    int lastIp;

    static PrincipalState decode(byte[] b) {
      PrincipalState s = new PrincipalState();
      if (b == null) return s;
      ByteBuffer bb = ByteBuffer.wrap(b);
      s.lastTs = bb.getLong();
      s.hourStart = bb.getLong();
      s.routeBits = bb.getLong();
      s.ipBits = bb.getLong();
      s.count = bb.getLong();
      s.reqMin = bb.getDouble();
      s.reqHour = bb.getDouble();
      s.errMin = bb.getDouble();
      s.bytesMin = bb.getDouble();
      s.ipChanges = bb.getFloat();
      s.lastIp = bb.getInt();
      return s;
    }

    byte[] encode() {
      return ByteBuffer.allocate(SIZE).putLong(lastTs).putLong(hourStart).putLong(routeBits).putLong(ipBits).putLong(count).putDouble(reqMin)
          .putDouble(reqHour).putDouble(errMin).putDouble(bytesMin).putFloat((float) ipChanges).putInt(lastIp).array();
    }

    /** Takes in one event; returns the principal's features after it. */
    double[] update(Event e) {
      long dt = count == 0 ? 0 : e.ts() - lastTs;
      reqMin = decay(reqMin, dt, MINUTE) + 1;
      reqHour = decay(reqHour, dt, HOUR) + 1;
      errMin = decay(errMin, dt, MINUTE) + (e.status() >= 400 ? 1 : 0);
      bytesMin = decay(bytesMin, dt, MINUTE) + e.bytes();
      if (e.ts() - hourStart >= HOUR) {
        hourStart = e.ts();
        routeBits = 0;
        ipBits = 0;
      }
      routeBits |= bit(e.method() + " " + e.route());
      ipBits |= bit(e.ip());
      int ipHash = e.ip().hashCode();
      ipChanges = decay(ipChanges, dt, HOUR) + (count > 0 && ipHash != lastIp ? 1 : 0);
      lastIp = ipHash;
      lastTs = Math.max(lastTs, e.ts());
      count++;
      return new double[] {reqMin, reqHour, errMin / reqMin, bytesMin / reqMin, distinct(routeBits), distinct(ipBits), ipChanges,
          e.latency(), e.status() == 401 || e.status() == 403 ? 1 : 0};
    }
  }

  static final class IpState {
    static final int SIZE = 8 * 6;
    long lastTs, hourStart, principalBits, count;
    double reqMin, errMin;

    static IpState decode(byte[] b) {
      IpState s = new IpState();
      if (b == null) return s;
      ByteBuffer bb = ByteBuffer.wrap(b);
      s.lastTs = bb.getLong();
      s.hourStart = bb.getLong();
      s.principalBits = bb.getLong();
      s.count = bb.getLong();
      s.reqMin = bb.getDouble();
      s.errMin = bb.getDouble();
      return s;
    }

    byte[] encode() {
      return ByteBuffer.allocate(SIZE).putLong(lastTs).putLong(hourStart).putLong(principalBits).putLong(count).putDouble(reqMin).putDouble(errMin)
          .array();
    }

    double[] update(Event e) {
      long dt = count == 0 ? 0 : e.ts() - lastTs;
      reqMin = decay(reqMin, dt, MINUTE) + 1;
      errMin = decay(errMin, dt, MINUTE) + (e.status() >= 400 ? 1 : 0);
      if (e.ts() - hourStart >= HOUR) {
        hourStart = e.ts();
        principalBits = 0;
      }
      principalBits |= bit(e.principal());
      lastTs = Math.max(lastTs, e.ts());
      count++;
      return new double[] {reqMin, errMin / reqMin, distinct(principalBits), count};
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // IP stage: one partition of the IP-keyed repartition topic → the IP's features, keyed by the request's principal.

  static final class IpStage implements Processor<String, Event, String, IpPart> {
    private ProcessorContext<String, IpPart> ctx;
    private KeyValueStore<String, byte[]> store;

    @Override
    public void init(ProcessorContext<String, IpPart> context) {
      ctx = context;
      store = context.getStateStore("ip-state");
    }

    @Override
    public void process(Record<String, Event> record) {
      Event e = record.value();
      IpState s = IpState.decode(store.get(e.ip()));
      double[] f = s.update(e);
      store.put(e.ip(), s.encode());
      ctx.forward(record.withKey(e.principal()).withValue(new IpPart(e.rid(), e.principal(), f)));
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Principal stage: principal features, and the join of each request with its IP part → one decision per request.

  static final class PrincipalStage implements Processor<String, Msg, String, String> {
    private ProcessorContext<String, String> ctx;
    private KeyValueStore<String, byte[]> state;
    private KeyValueStore<String, Pending> pending;

    @Override
    public void init(ProcessorContext<String, String> context) {
      ctx = context;
      state = context.getStateStore("principal-state");
      pending = context.getStateStore("pending-joins");
    }

    @Override
    public void process(Record<String, Msg> record) {
      Msg m = record.value();
      if (m.event() != null) {
        Event e = m.event();
        PrincipalState s = PrincipalState.decode(state.get(e.principal()));
        double[] pf = s.update(e);
        state.put(e.principal(), s.encode());
        Pending other = pending.get(e.rid());
        if (other != null && other.ipf() != null) {
          pending.delete(e.rid());
          emit(record, e, pf, other.ipf());
        } else {
          pending.put(e.rid(), new Pending(e, pf, null));
        }
      } else {
        IpPart p = m.part();
        Pending other = pending.get(p.rid());
        if (other != null && other.e() != null) {
          pending.delete(p.rid());
          emit(record, other.e(), other.pf(), p.f());
        } else {
          pending.put(p.rid(), new Pending(null, null, p.f()));
        }
      }
    }

    private void emit(Record<String, Msg> record, Event e, double[] pf, double[] ipf) {
      // A fixed logistic score over the joined features (vigil's bundle scores the joined vector; this is the same shape of work at the join).
      double z = -7 + 0.8 * Math.log1p(pf[0]) + 0.3 * Math.log1p(pf[1]) + 3 * pf[2] + 0.3 * Math.log1p(pf[4]) + 0.5 * Math.log1p(Math.max(0, pf[5] - 1))
          + 0.5 * Math.log1p(pf[6]) + 0.2 * Math.log1p(pf[7] / 100) + 1.5 * pf[8] + 0.5 * Math.log1p(ipf[0]) + 2 * ipf[1]
          + 0.5 * Math.log1p(Math.max(0, ipf[2] - 1));
      double score = 1 / (1 + Math.exp(-z));
      ObjectNode d = JSON.createObjectNode();
      d.put("ts", e.ts());
      d.put("request_id", e.rid());
      d.put("principal", e.principal());
      d.put("client_ip", e.ip());
      if (e.fp() != null) d.put("token_fingerprint", e.fp());
      d.put("score", score);
      d.put("action", score >= 0.9 ? "revoke" : score >= 0.6 ? "review" : "allow");
      ctx.forward(record.withKey(e.principal()).withValue(d.toString()));
    }
  }

  // ---------------------------------------------------------------------------------------------------------------

  static Topology topology(String input, String output, String deadLetter, int partitions, byte[] pepper, Properties config) {
    StreamsBuilder b = new StreamsBuilder(new TopologyConfig(new StreamsConfig(config)));
    b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("principal-state"), Serdes.String(), Serdes.ByteArray()).withCachingEnabled());
    b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("pending-joins"), Serdes.String(), PENDING_SERDE).withCachingEnabled());
    b.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore("ip-state"), Serdes.String(), Serdes.ByteArray()).withCachingEnabled());

    Map<String, KStream<String, Parsed>> parsed = b.stream(input, Consumed.with(Serdes.String(), Serdes.String()).withName("kong"))
        .processValues(() -> new ParseStage(pepper), Named.as("parse"))
        .split(Named.as("parsed-"))
        .branch((k, v) -> v.event() == null, Branched.as("dead"))
        .defaultBranch(Branched.as("ok"));
    parsed.get("parsed-dead").mapValues(Parsed::deadLetter, Named.as("dead-letter")).to(deadLetter, Produced.with(Serdes.String(), Serdes.String()));
    KStream<String, Event> events = parsed.get("parsed-ok").mapValues(Parsed::event, Named.as("event"));

    KStream<String, Event> byPrincipal = events.selectKey((k, e) -> e.principal(), Named.as("key-principal"))
        .repartition(Repartitioned.with(Serdes.String(), EVENT_SERDE).withName("by-principal").withNumberOfPartitions(partitions));
    KStream<String, IpPart> parts = events.selectKey((k, e) -> e.ip(), Named.as("key-ip"))
        .repartition(Repartitioned.with(Serdes.String(), EVENT_SERDE).withName("by-ip").withNumberOfPartitions(partitions))
        .process(IpStage::new, Named.as("ip-features"), "ip-state")
        .repartition(Repartitioned.with(Serdes.String(), PART_SERDE).withName("ip-parts").withNumberOfPartitions(partitions));

    byPrincipal.mapValues(e -> new Msg(e, null), Named.as("event-side"))
        .merge(parts.mapValues(p -> new Msg(null, p), Named.as("part-side")), Named.as("join-sides"))
        .process(PrincipalStage::new, Named.as("principal-features"), "principal-state", "pending-joins")
        .to(output, Produced.with(Serdes.String(), Serdes.String()).withName("decisions"));
    return b.build(config);
  }

  static Map<String, String> args(String[] argv) {
    Map<String, String> a = new HashMap<>();
    for (int i = 0; i < argv.length; i++) {
      if (!argv[i].startsWith("--") || i + 1 >= argv.length) usage("unexpected argument: " + argv[i]);
      String k = argv[i].substring(2), v = argv[++i];
      a.merge(k, v, (x, y) -> k.equals("set") ? x + "\n" + y : y);
    }
    for (String req : List.of("brokers", "input", "output", "events")) if (!a.containsKey(req)) usage("missing --" + req);
    return a;
  }

  static void usage(String why) {
    System.err.println(why);
    System.err.println("usage: --brokers HOST:PORT --input TOPIC --output TOPIC --events N [--guarantee exactly_once|at_least_once] [--threads T]"
        + " [--commit-ms MS] [--timeout-s S] [--state-dir DIR] [--compression none|lz4|…] [--pepper SECRET] [--set streams.config=value]…");
    System.exit(2);
  }

  public static void main(String[] argv) throws Exception {
    Map<String, String> a = args(argv);
    String brokers = a.get("brokers"), input = a.get("input"), output = a.get("output");
    long n = Long.parseLong(a.get("events"));
    String guarantee = a.getOrDefault("guarantee", "exactly_once");
    String processing = switch (guarantee) {
      case "exactly_once", "exactly_once_v2" -> StreamsConfig.EXACTLY_ONCE_V2;
      case "at_least_once" -> StreamsConfig.AT_LEAST_ONCE;
      default -> {
        usage("--guarantee must be exactly_once or at_least_once");
        yield null;
      }
    };
    int threads = Integer.parseInt(a.getOrDefault("threads", "2"));
    long timeoutS = Long.parseLong(a.getOrDefault("timeout-s", "1500"));
    byte[] pepper = a.getOrDefault("pepper", "bench-pepper-0123456789abcdef0123456789").getBytes(StandardCharsets.UTF_8);
    String deadLetter = output + ".dead-letter";
    String appId = "vigil-peer-" + output + "-" + Long.toString(System.currentTimeMillis(), 36);
    // State (RocksDB) under --state-dir (run.sh: target/state) or a temporary directory; removed at the end either way.
    boolean tempState = !a.containsKey("state-dir");
    Path stateDir = tempState ? Files.createTempDirectory("vigil-peer-") : Files.createDirectories(Path.of(a.get("state-dir")));

    Properties adminProps = new Properties();
    adminProps.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    int partitions;
    List<TopicPartition> counted = new ArrayList<>();
    try (Admin admin = Admin.create(adminProps)) {
      TopicDescription in = admin.describeTopics(List.of(input)).allTopicNames().get(60, TimeUnit.SECONDS).get(input);
      partitions = in.partitions().size();
      Set<String> existing = admin.listTopics().names().get(60, TimeUnit.SECONDS);
      List<NewTopic> create = Stream.of(output, deadLetter).filter(t -> !existing.contains(t)).map(t -> new NewTopic(t, partitions, (short) 1)).toList();
      if (!create.isEmpty()) {
        try {
          admin.createTopics(create).all().get(60, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) throw e;
        }
      }
      for (TopicDescription d : admin.describeTopics(List.of(output, deadLetter)).allTopicNames().get(60, TimeUnit.SECONDS).values()) {
        d.partitions().forEach(tp -> counted.add(new TopicPartition(d.name(), tp.partition())));
      }
    }

    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, processing);
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, a.getOrDefault("commit-ms", "200"));
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, threads);
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
    p.put(StreamsConfig.TOPOLOGY_OPTIMIZATION_CONFIG, StreamsConfig.OPTIMIZE);
    p.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG, true);
    p.put(StreamsConfig.producerPrefix(ProducerConfig.BATCH_SIZE_CONFIG), 256 * 1024);
    p.put(StreamsConfig.producerPrefix(ProducerConfig.LINGER_MS_CONFIG), 10);
    p.put(StreamsConfig.producerPrefix(ProducerConfig.COMPRESSION_TYPE_CONFIG), a.getOrDefault("compression", "none"));
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    // Any other Kafka Streams / client setting, for experiments: --set max.task.idle.ms=-1 (repeatable).
    if (a.containsKey("set")) {
      for (String kv : a.get("set").split("\n")) {
        int eq = kv.indexOf('=');
        if (eq <= 0) usage("--set takes key=value: " + kv);
        p.put(kv.substring(0, eq), kv.substring(eq + 1));
      }
    }
    Topology topology = topology(input, output, deadLetter, partitions, pepper, p);

    // The counter: a plain read_committed consumer on the output and dead-letter topics, from their current ends.
    Properties cp = new Properties();
    cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    long outputs = 0, deadLetters = 0;
    double seconds, firstOutputS = -1;
    AtomicReference<Throwable> failure = new AtomicReference<>();
    KafkaStreams streams;
    try (KafkaConsumer<byte[], byte[]> counter = new KafkaConsumer<>(cp)) {
      counter.assign(counted);
      counter.seekToEnd(counted);
      for (TopicPartition tp : counted) counter.position(tp, Duration.ofSeconds(60));

      streams = new KafkaStreams(topology, p);
      streams.setUncaughtExceptionHandler(e -> {
        failure.compareAndSet(null, e);
        return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
      });
      long t0 = System.nanoTime();
      streams.start();
      long deadline = t0 + TimeUnit.SECONDS.toNanos(timeoutS);
      while (outputs + deadLetters < n) {
        ConsumerRecords<byte[], byte[]> recs = counter.poll(Duration.ofMillis(50));
        for (var r : recs) {
          if (r.topic().equals(output)) outputs++;
          else deadLetters++;
        }
        if (firstOutputS < 0 && !recs.isEmpty()) firstOutputS = (System.nanoTime() - t0) / 1e9;
        if (failure.get() != null || streams.state() == KafkaStreams.State.ERROR) break;
        if (System.nanoTime() > deadline) break;
      }
      seconds = (System.nanoTime() - t0) / 1e9;
    }
    streams.close(Duration.ofSeconds(60));
    streams.cleanUp();
    deleteInternalTopics(adminProps, appId);
    deleteTree(tempState ? stateDir : stateDir.resolve(appId));

    if (outputs + deadLetters < n) {
      System.err.printf("the peer stopped after %d of %d records in %.1f s: %s%n", outputs + deadLetters, n, seconds,
          failure.get() != null ? failure.get().toString() : "timeout (--timeout-s " + timeoutS + ")");
      if (failure.get() != null) failure.get().printStackTrace();
      System.exit(1);
    }
    ObjectNode result = JSON.createObjectNode();
    result.put("events_per_s", Math.round(n / seconds * 10) / 10.0);
    result.put("events", n);
    result.put("seconds", Math.round(seconds * 1000) / 1000.0);
    result.put("guarantee", guarantee.startsWith("exactly_once") ? "exactly_once" : "at_least_once");
    // Diagnostics: when the first record came out (start-up, first rebalance, first commits), and the rate after it.
    result.put("first_output_s", Math.round(firstOutputS * 1000) / 1000.0);
    result.put("after_first_per_s", Math.round(n / (seconds - firstOutputS) * 10) / 10.0);
    result.put("decisions", outputs);
    result.put("dead_letter", deadLetters);
    result.put("threads", threads);
    result.put("partitions", partitions);
    System.out.println(result);
    System.out.flush();
    System.exit(0);
  }

  static void deleteInternalTopics(Properties adminProps, String appId) {
    try (Admin admin = Admin.create(adminProps)) {
      Set<String> mine = admin.listTopics().names().get(60, TimeUnit.SECONDS).stream().filter(t -> t.startsWith(appId + "-")).collect(Collectors.toSet());
      if (!mine.isEmpty()) admin.deleteTopics(mine).all().get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      System.err.println("[peer] could not delete the internal topics of " + appId + ": " + e);
    }
  }

  static void deleteTree(Path dir) {
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException e) {
      // a temp dir: left for the OS
    }
  }
}
