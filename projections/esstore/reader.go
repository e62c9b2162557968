package esstore

import "github.com/elastic/go-elasticsearch/v8"

// Client returns the store's typed client, for the read side
// (readapi/esquery) to search the read models it writes.
func (s *Store) Client() *elasticsearch.TypedClient { return s.es }

// Alias returns the alias that serves read model name (projections.Contacts…).
func (s *Store) Alias(name string) string { return s.alias(name) }
