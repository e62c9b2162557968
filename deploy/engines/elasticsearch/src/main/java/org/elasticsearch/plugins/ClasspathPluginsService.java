package org.elasticsearch.plugins;

import org.elasticsearch.Build;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.plugins.spi.SPIClassIterator;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A PluginsService whose plugins are classes on the class path rather than
 * bundles under plugins/ and modules/: Elastic publishes the server and the
 * netty4 transport to Maven Central as plain jars, not as installable
 * bundles. It follows the test framework's MockPluginsService, which embeds
 * nodes the same way; it lives in this package because LoadedPlugin and the
 * PluginsLoader constructor are package-private.
 */
public class ClasspathPluginsService extends PluginsService {

    private final List<LoadedPlugin> classpathPlugins;

    public ClasspathPluginsService(Settings settings, Environment environment, Collection<Class<? extends Plugin>> classes) {
        super(settings, environment.configDir(), emptyLoader());
        List<LoadedPlugin> loaded = new ArrayList<>();
        for (Class<? extends Plugin> c : classes) {
            Plugin plugin = loadPlugin(c, settings, environment.configDir());
            PluginDescriptor descriptor = new PluginDescriptor(
                c.getName(),
                "classpath plugin",
                "NA",
                Build.current().version(),
                Integer.toString(Runtime.version().feature()),
                c.getName(),
                null,
                List.of(),
                false,
                false,
                false,
                false
            );
            loaded.add(new LoadedPlugin(descriptor, plugin, ClasspathPluginsService.class.getClassLoader()));
        }
        loadExtensions(loaded);
        this.classpathPlugins = List.copyOf(loaded);
    }

    /**
     * A loader of no bundles. PluginsLoader.createPluginsLoader cannot be
     * used: it reads the server's module descriptor, and on the class path
     * the server is no named module.
     */
    public static PluginsLoader emptyLoader() {
        return new PluginsLoader(Set.of(), Set.of(), Map.of());
    }

    @Override
    protected final List<LoadedPlugin> plugins() {
        return classpathPlugins;
    }

    /**
     * Every plugin shares the application class loader, so a service
     * provider found there is created once, not once per plugin.
     */
    @Override
    public <T> List<? extends T> loadServiceProviders(Class<T> service) {
        Map<Class<?>, T> providers = new LinkedHashMap<>();
        for (LoadedPlugin p : classpathPlugins) {
            SPIClassIterator<T> it = SPIClassIterator.get(service, ClasspathPluginsService.class.getClassLoader());
            while (it.hasNext()) {
                Class<? extends T> c = it.next();
                if (providers.containsKey(c) == false) {
                    providers.put(c, createExtension(c, service, p.instance()));
                }
            }
        }
        return List.copyOf(providers.values());
    }
}
