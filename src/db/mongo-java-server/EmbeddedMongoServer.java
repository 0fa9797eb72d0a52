import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.wire.message.MongoMessage;
import io.netty.channel.Channel;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.h2.mvstore.MVStore;

/**
 * The embedded database: mongo-java-server on an H2 MVStore file, on loopback.
 *
 * Usage: java -cp ... EmbeddedMongoServer PORT DATA_FILE
 *
 * Why a launcher of our own rather than H2MongoServer's main():
 * - It reports MongoDB 5.0 with wire version 13, as a real 5.0 does: the Node
 *   driver 7 needs at least 9, and the library's own MONGO_5_0 reports 8.
 * - Durability: MVStore's default auto-commit writes changes about once a
 *   second, so a kill -9 loses the last second of acknowledged writes. Here
 *   every command that changed the store is committed (written to the file)
 *   before its reply leaves, and the file is fsynced every FSYNC_INTERVAL_MS,
 *   which bounds what an operating-system crash can lose.
 * - Supervision: it exits when its standard input closes, so it never outlives
 *   the service that started it, even one killed with SIGKILL.
 */
public final class EmbeddedMongoServer {
    private static final long FSYNC_INTERVAL_MS = 1000;

    /** What a MongoDB 5.0 server reports in its handshake. */
    static final MongoVersion MONGODB_5_0 = new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(5, 0, 0);
        }

        @Override
        public int getWireVersion() {
            return 13;
        }
    };

    /** Commits after every command, so an acknowledged write is in the file. */
    static final class DurableH2Backend extends H2Backend {
        private final MVStore store;

        DurableH2Backend(MVStore store) {
            super(store);
            this.store = store;
        }

        @Override
        public Document handleCommand(Channel channel, String database, String command, Document query) {
            try {
                return super.handleCommand(channel, database, command, query);
            } finally {
                commitChanges();
            }
        }

        @Override
        public Document handleMessage(MongoMessage message) {
            try {
                return super.handleMessage(message);
            } finally {
                commitChanges();
            }
        }

        private void commitChanges() {
            if (store.hasUnsavedChanges()) store.commit();
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: EmbeddedMongoServer PORT DATA_FILE");
            System.exit(2);
        }
        int port = Integer.parseInt(args[0]);
        MVStore store = new MVStore.Builder().fileName(args[1]).autoCommitDisabled().open();
        DurableH2Backend backend = new DurableH2Backend(store);
        backend.version(MONGODB_5_0);
        MongoServer server = new MongoServer(backend);
        server.bind("127.0.0.1", port);

        ScheduledExecutorService fsync = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "fsync");
            thread.setDaemon(true);
            return thread;
        });
        fsync.scheduleWithFixedDelay(store::sync, FSYNC_INTERVAL_MS, FSYNC_INTERVAL_MS, TimeUnit.MILLISECONDS);

        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdown, "shutdown"));
        System.out.println("listening on 127.0.0.1:" + port);
        System.out.flush();
        exitWhenParentGoes();
    }

    /** Blocks until standard input closes (the parent died or let go), then exits. */
    private static void exitWhenParentGoes() {
        try {
            while (System.in.read() != -1) {
                // Input is not a protocol; anything written is ignored.
            }
        } catch (IOException ignored) {
            // A broken pipe means the same as end of input.
        }
        System.exit(0);
    }
}
