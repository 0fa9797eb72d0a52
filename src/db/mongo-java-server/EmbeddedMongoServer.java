import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.wire.message.MongoMessage;
import io.netty.channel.Channel;
import java.io.IOException;
import java.net.InetSocketAddress;
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
 *   every command that changed the store waits for a commit (written to the
 *   file) before its reply leaves; concurrent writes share one commit (group
 *   commit), since a commit re-serialises every page it touches. The file is
 *   fsynced every FSYNC_INTERVAL_MS, which bounds what an operating-system
 *   crash can lose.
 * - Supervision: it exits when its standard input closes, so it never outlives
 *   the service that started it, even one killed with SIGKILL.
 */
public final class EmbeddedMongoServer {
    private static final long FSYNC_INTERVAL_MS = 1000;
    /**
     * A command waiting for its group commit holds its Netty worker thread, so
     * there is a thread per connection of a typical pool (the default, twice
     * the cores, would let a few waiting writes stall every other connection).
     */
    private static final int WORKER_THREADS = 32;
    /** MVStore page cache in MB (H2's default is 16): see main(). */
    private static final int CACHE_MB = 400;

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

    /**
     * Group commit: a command that changed the store waits until a commit that
     * started after its change has finished. One committer thread writes every
     * change made meanwhile in one chunk, so concurrent writes share a commit.
     */
    static final class GroupCommit implements Runnable {
        private final MVStore store;
        private long requested;
        private long committed;

        GroupCommit(MVStore store) {
            this.store = store;
        }

        synchronized void awaitCommitted() {
            long ticket = ++requested;
            notifyAll();
            boolean interrupted = false;
            while (committed < ticket) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) Thread.currentThread().interrupt();
        }

        @Override
        public void run() {
            while (true) {
                long target;
                synchronized (this) {
                    while (requested == committed) {
                        try {
                            wait();
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                    target = requested;
                }
                store.commit();
                synchronized (this) {
                    committed = target;
                    notifyAll();
                }
            }
        }
    }

    /** Replies to a command only once what it changed is in the file. */
    static final class DurableH2Backend extends H2Backend {
        private final MVStore store;
        private final GroupCommit groupCommit;

        DurableH2Backend(MVStore store) {
            super(store);
            this.store = store;
            this.groupCommit = new GroupCommit(store);
            Thread committer = new Thread(groupCommit, "group-commit");
            committer.setDaemon(true);
            committer.start();
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
            if (store.hasUnsavedChanges()) groupCommit.awaitCommitted();
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: EmbeddedMongoServer PORT DATA_FILE");
            System.exit(2);
        }
        int port = Integer.parseInt(args[0]);
        // The page cache holds deserialised pages: mongo-java-server scans a collection for any
        // query its unique indexes cannot answer, and with H2's default 16 MB cache such a scan
        // deserialises most of the file again each time (the access log's console queries).
        MVStore store = new MVStore.Builder()
                .fileName(args[1])
                .autoCommitDisabled()
                .cacheSize(CACHE_MB)
                .open();
        DurableH2Backend backend = new DurableH2Backend(store);
        backend.version(MONGODB_5_0);
        MongoServer server = new MongoServer(backend);
        server.bind(new InetSocketAddress("127.0.0.1", port), 1, WORKER_THREADS);

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
