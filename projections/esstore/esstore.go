// Package esstore is the Elasticsearch read model: the store users scale on.
//
// Each read model (contacts, companies, groups, labels) lives in a versioned
// index, <prefix><name>-v<unix millis>, behind the alias <prefix><name>; a
// rebuild fills a new index beside it and swaps the alias atomically.
//
// Documents are written whole with _bulk, version_type=external and the
// aggregate's stream version, so a duplicate or older document is refused by
// Elasticsearch itself (409, counted and skipped): projections stay
// idempotent and order-safe without reading before writing. A contact's
// denormalised company and groups are re-written at the same version with
// version_type=external_gte.
//
// Keeping the denormalised parts right while the contacts, companies and
// groups projections write concurrently: every write that can change them
// ends with a reconcile of the contacts concerned, which re-reads them (a
// realtime multi-get), recomputes their company (realtime multi-get) and
// groups (a search, made current first by a refresh unless writes already
// wait for one), and re-writes those that differ, until they agree. Whichever
// writer finishes last sees the other's completed write.
package esstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"

	"contacts/projections"
)

// Refresh policies of Config.Refresh.
const (
	// RefreshFalse relies on the indices' refresh_interval (1 s): writes
	// become searchable within a second (GET by id sees them at once).
	RefreshFalse = "false"
	// RefreshWaitFor makes every bulk wait until its writes are searchable
	// (read-your-writes for searches; used by tests).
	RefreshWaitFor = "wait_for"
)

// DefaultIndexPrefix prefixes every index, alias and template name.
const DefaultIndexPrefix = "contacts-"

// Config configures the store.
type Config struct {
	URL         string // ELASTICSEARCH_URL; may carry user:pass@
	IndexPrefix string // default "contacts-"
	Refresh     string // "false" (default) or "wait_for"
	// Replicas is number_of_replicas of new indices: nil means 1; 0 suits
	// a single-node cluster.
	Replicas *int
	Logger   *slog.Logger
}

// Store is the Elasticsearch read model (projections.ReadModel). A Store
// returned by StartRebuild reads and writes the read model it rebuilds in
// the new index, and refuses documents of the other read models.
type Store struct {
	es  *elasticsearch.TypedClient
	cfg Config
	log *slog.Logger
	// index overrides the index of a read model (the new one, in a rebuild).
	index      map[string]string
	rebuilding string
}

var _ projections.ReadModel = (*Store)(nil)

// New connects to Elasticsearch and makes sure every read model has its
// index template and a live index behind its alias.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.IndexPrefix == "" {
		cfg.IndexPrefix = DefaultIndexPrefix
	}
	if cfg.Refresh == "" {
		cfg.Refresh = RefreshFalse
	}
	if cfg.Refresh != RefreshFalse && cfg.Refresh != RefreshWaitFor {
		return nil, fmt.Errorf("esstore: Refresh %q: want %q or %q", cfg.Refresh, RefreshFalse, RefreshWaitFor)
	}
	if err := checkPrefix(cfg.IndexPrefix); err != nil {
		return nil, err
	}
	if cfg.Replicas == nil {
		one := 1
		cfg.Replicas = &one
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.URL == "" {
		return nil, errors.New("esstore: no Elasticsearch URL")
	}
	es, err := elasticsearch.NewTypedClient(elasticsearch.Config{
		Addresses:    []string{cfg.URL},
		DisableRetry: true, // the store retries with its own back-off
	})
	if err != nil {
		return nil, fmt.Errorf("esstore: %w", err)
	}
	s := &Store{es: es, cfg: cfg, log: cfg.Logger, index: map[string]string{}}
	if err := s.retry(ctx, "info", func() error { _, err := es.Info().Do(ctx); return err }); err != nil {
		return nil, fmt.Errorf("esstore: connecting to Elasticsearch: %w", err)
	}
	for _, name := range projections.Names {
		if err := s.ensure(ctx, name); err != nil {
			return nil, fmt.Errorf("esstore: %s: %w", name, err)
		}
	}
	return s, nil
}

// checkPrefix refuses prefixes Elasticsearch would refuse in index names.
func checkPrefix(p string) error {
	if p != strings.ToLower(p) || strings.ContainsAny(p, `\/*?"<>| ,#:`) ||
		strings.HasPrefix(p, "-") || strings.HasPrefix(p, "_") || strings.HasPrefix(p, "+") {
		return fmt.Errorf("esstore: index prefix %q: must be lower case, without \\/*?\"<>| ,#: and not start with -, _ or +", p)
	}
	return nil
}

// alias is the live alias of read model name.
func (s *Store) alias(name string) string { return s.cfg.IndexPrefix + name }

// rebuildAlias names the index of an unfinished rebuild of name.
func (s *Store) rebuildAlias(name string) string { return s.cfg.IndexPrefix + name + "-rebuild" }

// target is the index (or alias) read model name is read from and written to.
func (s *Store) target(name string) string {
	if i, ok := s.index[name]; ok {
		return i
	}
	return s.alias(name)
}

func (s *Store) newBackoff() *backoff { return newBackoff(rand.Uint64()) }

func (s *Store) replicas() int { return *s.cfg.Replicas }

// ensure puts the index template of name and, when its alias points
// nowhere, creates a first index behind it.
func (s *Store) ensure(ctx context.Context, name string) error {
	body, err := json.Marshal(templateBody(s.cfg.IndexPrefix, name, s.replicas()))
	if err != nil {
		return err
	}
	err = s.retry(ctx, "put index template", func() error {
		_, err := s.es.Indices.PutIndexTemplate(s.alias(name)).Raw(strings.NewReader(string(body))).Do(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("index template: %w", err)
	}
	live, err := s.indicesOf(ctx, s.alias(name))
	if err != nil {
		return err
	}
	if len(live) > 0 {
		// Fields added to the mapping since the index was created are
		// added to it (a changed field type is refused: rebuild instead).
		mapping, err := json.Marshal(mappingOf(name))
		if err != nil {
			return err
		}
		err = s.retry(ctx, "put mapping", func() error {
			_, err := s.es.Indices.PutMapping(s.alias(name)).Raw(strings.NewReader(string(mapping))).Do(ctx)
			return err
		})
		if err != nil {
			return fmt.Errorf("updating the mapping of %s (an incompatible change needs a rebuild: contacts projections rebuild %s): %w", s.alias(name), name, err)
		}
		return nil
	}
	created, err := s.createIndex(ctx, name, s.alias(name))
	if err != nil {
		return err
	}
	// Two processes starting at once may each have created an index behind
	// the alias: all keep the oldest, the others are dropped.
	live, err = s.indicesOf(ctx, s.alias(name))
	if err != nil {
		return err
	}
	if len(live) > 1 {
		s.log.Warn("esstore: concurrent start created several live indices; keeping the first", "alias", s.alias(name), "indices", live, "created", created)
		return s.deleteIndices(ctx, live[1:])
	}
	return nil
}

// createIndex creates a new versioned index of name that joins aliases.
func (s *Store) createIndex(ctx context.Context, name string, aliases ...string) (string, error) {
	body, err := json.Marshal(indexBody(name, s.replicas(), aliases...))
	if err != nil {
		return "", err
	}
	millis := time.Now().UnixMilli()
	for attempt := 0; ; attempt++ {
		index := fmt.Sprintf("%s%s-v%d", s.cfg.IndexPrefix, name, millis)
		err := s.retry(ctx, "create index", func() error {
			_, err := s.es.Indices.Create(index).Raw(strings.NewReader(string(body))).Do(ctx)
			return err
		})
		var es *types.ElasticsearchError
		if errors.As(err, &es) && es.ErrorCause.Type == "resource_already_exists_exception" && attempt < 10 {
			millis++
			continue
		}
		if err != nil {
			return "", fmt.Errorf("creating index %s: %w", index, err)
		}
		s.log.Info("esstore: created index", "index", index, "aliases", aliases)
		return index, nil
	}
}

// indicesOf returns the indices an alias points to, sorted (none when the
// alias does not exist).
func (s *Store) indicesOf(ctx context.Context, alias string) ([]string, error) {
	m, err := s.aliases(ctx, func() (*http.Response, error) {
		return s.es.Indices.GetAlias().Name(alias).Perform(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("reading alias %s: %w", alias, err)
	}
	out := make([]string, 0, len(m))
	for index := range m {
		out = append(out, index)
	}
	sort.Strings(out)
	return out, nil
}

// versionedIndices returns every index of read model name (live, rebuilt,
// orphaned) with its aliases.
func (s *Store) versionedIndices(ctx context.Context, name string) (map[string][]string, error) {
	pattern := s.cfg.IndexPrefix + name + "-v*"
	m, err := s.aliases(ctx, func() (*http.Response, error) {
		return s.es.Indices.GetAlias().Index(pattern).Perform(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", pattern, err)
	}
	return m, nil
}

// aliases runs a GET _alias request and returns index → alias names; a 404
// (no such alias) is an empty answer. The typed response is not used: the
// 404 body of a missing alias does not decode as an error object.
func (s *Store) aliases(ctx context.Context, perform func() (*http.Response, error)) (map[string][]string, error) {
	var out map[string][]string
	err := s.retry(ctx, "get alias", func() error {
		res, err := perform()
		if err != nil {
			return err
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			return err
		}
		out = map[string][]string{}
		switch {
		case res.StatusCode == http.StatusNotFound:
			return nil
		case res.StatusCode >= 300:
			return &types.ElasticsearchError{Status: res.StatusCode,
				ErrorCause: types.ErrorCause{Type: "http_error", Reason: ptr(strings.TrimSpace(string(body)))}}
		}
		var m map[string]struct {
			Aliases map[string]json.RawMessage `json:"aliases"`
		}
		if err := json.Unmarshal(body, &m); err != nil {
			return err
		}
		for index, a := range m {
			names := make([]string, 0, len(a.Aliases))
			for n := range a.Aliases {
				names = append(names, n)
			}
			sort.Strings(names)
			out[index] = names
		}
		return nil
	})
	return out, err
}

// deleteIndices drops indices (by exact name).
func (s *Store) deleteIndices(ctx context.Context, indices []string) error {
	if len(indices) == 0 {
		return nil
	}
	return s.retry(ctx, "delete index", func() error {
		_, err := s.es.Indices.Delete(strings.Join(indices, ",")).IgnoreUnavailable(true).Do(ctx)
		return err
	})
}

// StartRebuild drops any unfinished rebuild of name, creates a new empty
// index for it (recorded by the <prefix><name>-rebuild alias), and returns a
// Store that reads and writes name there; other read models are read from
// their live aliases.
func (s *Store) StartRebuild(ctx context.Context, name string) (projections.Store, error) {
	if !slices.Contains(projections.Names, name) {
		return nil, fmt.Errorf("esstore: no read model %q (have %v)", name, projections.Names)
	}
	if s.rebuilding != "" {
		return nil, fmt.Errorf("esstore: StartRebuild(%s) on the store of a rebuild of %s", name, s.rebuilding)
	}
	all, err := s.versionedIndices(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("esstore: rebuild %s: %w", name, err)
	}
	leftovers := leftoverIndices(all, s.alias(name), s.rebuildAlias(name))
	if len(leftovers) > 0 {
		s.log.Info("esstore: dropping an unfinished rebuild", "read_model", name, "indices", leftovers)
		if err := s.deleteIndices(ctx, leftovers); err != nil {
			return nil, fmt.Errorf("esstore: rebuild %s: dropping %v: %w", name, leftovers, err)
		}
	}
	index, err := s.createIndex(ctx, name, s.rebuildAlias(name))
	if err != nil {
		return nil, fmt.Errorf("esstore: rebuild %s: %w", name, err)
	}
	r := &Store{es: s.es, cfg: s.cfg, log: s.log, index: map[string]string{name: index}, rebuilding: name}
	return r, nil
}

// leftoverIndices are the versioned indices a new rebuild may drop: an
// unfinished rebuild (under the rebuild alias), or an old index a swap
// could not delete (no alias at all); never one behind the live alias.
func leftoverIndices(indices map[string][]string, liveAlias, rebuildAlias string) []string {
	var out []string
	for index, aliases := range indices {
		if slices.Contains(aliases, liveAlias) {
			continue
		}
		if len(aliases) == 0 || slices.Contains(aliases, rebuildAlias) {
			out = append(out, index)
		}
	}
	sort.Strings(out)
	return out
}

// FinishRebuild refreshes the rebuilt index, points the live alias of name
// at it in one atomic _aliases call, then drops the old index.
func (s *Store) FinishRebuild(ctx context.Context, name string) error {
	if !slices.Contains(projections.Names, name) {
		return fmt.Errorf("esstore: no read model %q (have %v)", name, projections.Names)
	}
	rebuilt, err := s.indicesOf(ctx, s.rebuildAlias(name))
	if err != nil {
		return fmt.Errorf("esstore: finish rebuild %s: %w", name, err)
	}
	if len(rebuilt) != 1 {
		return fmt.Errorf("esstore: finish rebuild %s: no single rebuild in progress (alias %s: %v)", name, s.rebuildAlias(name), rebuilt)
	}
	// Searches move to the rebuilt index with the swap: without a refresh
	// first, they would see it as its last scheduled refresh left it (up
	// to refresh_interval of writes missing: counts and lists short).
	if err := s.retry(ctx, "refresh", func() error {
		_, err := s.es.Indices.Refresh().Index(rebuilt[0]).Do(ctx)
		return err
	}); err != nil {
		return fmt.Errorf("esstore: finish rebuild %s: refreshing %s: %w", name, rebuilt[0], err)
	}
	live, err := s.indicesOf(ctx, s.alias(name))
	if err != nil {
		return fmt.Errorf("esstore: finish rebuild %s: %w", name, err)
	}
	actions := aliasSwapActions(s.alias(name), s.rebuildAlias(name), live, rebuilt[0])
	err = s.retry(ctx, "update aliases", func() error {
		_, err := s.es.Indices.UpdateAliases().Actions(actions...).Do(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("esstore: finish rebuild %s: swapping alias: %w", name, err)
	}
	s.log.Info("esstore: rebuilt index is live", "alias", s.alias(name), "index", rebuilt[0], "replaced", live)
	old := slices.DeleteFunc(live, func(i string) bool { return i == rebuilt[0] })
	if err := s.deleteIndices(ctx, old); err != nil {
		// The swap is done; the next StartRebuild drops the orphan.
		s.log.Warn("esstore: could not drop the replaced index", "indices", old, "err", err)
	}
	return nil
}

// aliasSwapActions are the _aliases actions that make index newIndex the
// live one: the live alias leaves the old indices and joins newIndex, and
// the rebuild alias leaves it, all at once.
func aliasSwapActions(liveAlias, rebuildAlias string, old []string, newIndex string) []types.IndicesAction {
	var actions []types.IndicesAction
	for _, o := range old {
		if o != newIndex {
			actions = append(actions, types.IndicesAction{Remove: &types.RemoveAction{Index: ptr(o), Alias: ptr(liveAlias)}})
		}
	}
	actions = append(actions,
		types.IndicesAction{Add: &types.AddAction{Index: ptr(newIndex), Alias: ptr(liveAlias)}},
		types.IndicesAction{Remove: &types.RemoveAction{Index: ptr(newIndex), Alias: ptr(rebuildAlias)}},
	)
	return actions
}

// dropAll deletes every index and template of this store's prefix (tests).
func (s *Store) dropAll(ctx context.Context) error {
	var errs []error
	for _, name := range projections.Names {
		all, err := s.versionedIndices(ctx, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		indices := make([]string, 0, len(all))
		for i := range all {
			indices = append(indices, i)
		}
		errs = append(errs, s.deleteIndices(ctx, indices))
		_, err = s.es.Indices.DeleteIndexTemplate(s.alias(name)).Do(ctx)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func ptr[T any](v T) *T { return &v }
