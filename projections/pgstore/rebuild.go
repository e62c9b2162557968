package pgstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"contacts/projections"
)

// table returns the live table and key column of a read model.
func table(name string) (string, string, error) {
	switch name {
	case projections.Contacts:
		return live.contacts, "uuid", nil
	case projections.Companies:
		return live.companies, "id", nil
	case projections.Groups:
		return live.groups, "id", nil
	case projections.Labels:
		return live.labels, "id", nil
	}
	return "", "", fmt.Errorf("pgstore: no read model %q", name)
}

const rebuildSuffix = "_rebuild"

// StartRebuild creates an empty <table>_rebuild (dropping an unfinished one
// left by an interrupted rebuild) with the live table's columns and primary
// key but no secondary index: they are built once, at the end, which is far
// faster than maintaining them row by row.
func (s *Store) StartRebuild(ctx context.Context, name string) (projections.Store, error) {
	liveTable, key, err := table(name)
	if err != nil {
		return nil, err
	}
	shadow := liveTable + rebuildSuffix
	_, err = s.pool.Exec(ctx, fmt.Sprintf(`DROP TABLE IF EXISTS %[2]s;
		CREATE TABLE %[2]s (LIKE %[1]s INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING CONSTRAINTS);
		ALTER TABLE %[2]s ADD PRIMARY KEY (%[3]s);`, liveTable, shadow, key), pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, fmt.Errorf("pgstore: start rebuild of %s: %w", name, err)
	}
	target := &Store{pool: s.pool, tables: s.tables}
	switch name {
	case projections.Contacts:
		target.tables.contacts = shadow
	case projections.Companies:
		target.tables.companies = shadow
	case projections.Groups:
		target.tables.groups = shadow
	case projections.Labels:
		target.tables.labels = shadow
	}
	return target, nil
}

// FinishRebuild builds the live table's secondary indexes on the rebuilt
// table, then swaps the two by renaming them (and their indexes) in one
// transaction, and drops the old table. Readers wait only for the renames.
func (s *Store) FinishRebuild(ctx context.Context, name string) error {
	liveTable, _, err := table(name)
	if err != nil {
		return err
	}
	shadow := liveTable + rebuildSuffix
	type index struct{ name, def string }
	rows, err := s.pool.Query(ctx, `SELECT i.relname, pg_get_indexdef(x.indexrelid)
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
		WHERE x.indrelid = $1::regclass AND NOT x.indisprimary ORDER BY i.relname`, liveTable)
	if err != nil {
		return err
	}
	indexes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (index, error) {
		var ix index
		return ix, r.Scan(&ix.name, &ix.def)
	})
	if err != nil {
		return err
	}
	for _, ix := range indexes {
		def := strings.Replace(ix.def, "INDEX "+ix.name+" ON ", "INDEX IF NOT EXISTS "+ix.name+rebuildSuffix+" ON ", 1)
		def = strings.Replace(def, " ON public."+liveTable+" ", " ON public."+shadow+" ", 1)
		if _, err := s.pool.Exec(ctx, def); err != nil {
			return fmt.Errorf("pgstore: index %s on the rebuilt %s: %w", ix.name, name, err)
		}
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	stmts := []string{
		fmt.Sprintf(`LOCK TABLE %s, %s IN ACCESS EXCLUSIVE MODE`, liveTable, shadow),
		fmt.Sprintf(`ALTER TABLE %s RENAME TO %s_old`, liveTable, liveTable),
		fmt.Sprintf(`ALTER INDEX %s_pkey RENAME TO %s_old_pkey`, liveTable, liveTable),
		fmt.Sprintf(`ALTER TABLE %s RENAME TO %s`, shadow, liveTable),
		fmt.Sprintf(`ALTER INDEX %s_pkey RENAME TO %s_pkey`, shadow, liveTable),
	}
	for _, ix := range indexes {
		stmts = append(stmts,
			fmt.Sprintf(`ALTER INDEX %s RENAME TO %s_old`, ix.name, ix.name),
			fmt.Sprintf(`ALTER INDEX %s%s RENAME TO %s`, ix.name, rebuildSuffix, ix.name))
	}
	stmts = append(stmts, fmt.Sprintf(`DROP TABLE %s_old`, liveTable))
	for _, q := range stmts {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("pgstore: swap rebuilt %s: %s: %w", name, q, err)
		}
	}
	return tx.Commit(ctx)
}
