package contacts.engines.elasticsearch;

import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;
import org.elasticsearch.index.analysis.PreConfiguredTokenFilter;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

import java.util.List;

/**
 * The "asciifolding" token filter our keyword normaliser uses
 * (projections/esstore/mapping.go). In a distribution it comes with the
 * analysis-common module, which Elastic does not publish to Maven Central;
 * the filter itself is Lucene's, on the class path with the server. Only the
 * pre-configured form (no parameters) is offered, which is all the mapping
 * needs; true: usable in normalisers (multi-term aware).
 */
public class AsciiFoldingPlugin extends Plugin implements AnalysisPlugin {
    @Override
    public List<PreConfiguredTokenFilter> getPreConfiguredTokenFilters() {
        return List.of(PreConfiguredTokenFilter.singleton("asciifolding", true, ASCIIFoldingFilter::new));
    }
}
