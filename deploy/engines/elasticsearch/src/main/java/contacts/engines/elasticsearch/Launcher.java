package contacts.engines.elasticsearch;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.ClasspathPluginsNode;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.transport.netty4.Netty4Plugin;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Starts one Elasticsearch node in this JVM: HTTP and transport on the
 * loopback, single-node discovery, everything under the directory given as
 * the first argument (home/, data/, logs/). The HTTP port is the second
 * argument (0: any free port); once the node answers, the bound ports are in
 * logs/http.ports. SIGTERM closes the node cleanly.
 *
 * Security is off because X-Pack is not on the class path at all (it is not
 * published to Maven Central); bootstrap checks are not enforced on a
 * loopback single node, as in a distribution.
 */
public final class Launcher {
    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: Launcher <dir> [http-port]");
            System.exit(2);
        }
        Path dir = Path.of(args[0]).toAbsolutePath();
        String httpPort = args.length > 1 ? args[1] : "0";
        Path home = dir.resolve("home");
        Files.createDirectories(home.resolve("config"));
        Files.createDirectories(home.resolve("plugins"));
        Files.createDirectories(home.resolve("modules"));

        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", dir.resolve("data").toString())
            .put("path.logs", dir.resolve("logs").toString())
            .put("cluster.name", "contacts-engines")
            .put("node.name", "contacts-es")
            .put("network.host", "127.0.0.1")
            .put("http.port", httpPort)
            .put("transport.port", "0")
            .put("discovery.type", "single-node")
            .put("node.portsfile", true)
            // A development box's disk is often more than 90% full: do not
            // turn the indices read-only because of it.
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .build();

        try (InputStream log4j = Launcher.class.getResourceAsStream("/log4j2.properties")) {
            Files.copy(log4j, home.resolve("config").resolve("log4j2.properties"), StandardCopyOption.REPLACE_EXISTING);
        }
        LogConfigurator.configureESLogging();
        Environment env = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), null, () -> "contacts-es");
        LogConfigurator.setNodeName("contacts-es");
        LogConfigurator.configure(env, true);
        Node node = new ClasspathPluginsNode(env, List.of(Netty4Plugin.class, AsciiFoldingPlugin.class, RootPlugin.class));

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "contacts-es-shutdown"));
        node.start();
        stopped.await();
    }
}
