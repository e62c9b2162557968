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
// faster than maintaining them row by row. Its storage parameters and
// extended statistics (planner statistics on the filter expressions,
// migration 0008) are copied too; FinishRebuild gathers them before the swap.
func (s *Store) StartRebuild(ctx context.Context, name string) (projections.Store, error) {
	liveTable, key, err := table(name)
	if err != nil {
		return nil, err
	}
	shadow := liveTable + rebuildSuffix
	// The live table's storage parameters (toast_tuple_target, see migration
	// 0008) are not copied by LIKE.
	var options []string
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(reloptions, '{}') FROM pg_class WHERE oid = $1::regclass`,
		liveTable).Scan(&options); err != nil {
		return nil, fmt.Errorf("pgstore: start rebuild of %s: %w", name, err)
	}
	with := ""
	if len(options) > 0 {
		with = " WITH (" + strings.Join(options, ", ") + ")"
	}
	_, err = s.pool.Exec(ctx, fmt.Sprintf(`DROP TABLE IF EXISTS %[2]s;
		CREATE TABLE %[2]s (LIKE %[1]s INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING CONSTRAINTS INCLUDING STATISTICS INCLUDING STORAGE)%[4]s;
		ALTER TABLE %[2]s ADD PRIMARY KEY (%[3]s);`, liveTable, shadow, key, with), pgx.QueryExecModeSimpleProtocol)
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
	// Statistics before readers see it: without them the first queries of
	// the swapped-in table would be planned blind. VACUUM also marks its
	// pages all-visible, without which a count could not be answered from
	// the facet index alone (migration 0009) until autovacuum came by.
	if _, err := s.pool.Exec(ctx, "VACUUM (ANALYZE) "+shadow); err != nil {
		return fmt.Errorf("pgstore: analyze the rebuilt %s: %w", name, err)
	}
	var swapValues []string
	if name == projections.Contacts {
		if swapValues, err = s.rebuildContactValues(ctx, shadow); err != nil {
			return err
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
	stmts = append(stmts, swapValues...)
	for _, q := range stmts {
		if _, err := tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("pgstore: swap rebuilt %s: %s: %w", name, q, err)
		}
	}
	return tx.Commit(ctx)
}

// The values table of the contacts read model (migration 0008) and the
// names of its indexes, which a rebuild recreates under a suffix.
const contactValues = "rm_contact_values"

var contactValuesIndexes = []string{"rm_contact_values_pkey", "rm_contact_values_order_idx", "rm_contact_values_trgm_idx"}

// rebuildContactValues counts the field values of the rebuilt contacts
// table into a fresh rm_contact_values_rebuild and puts the triggers that
// keep it exact on the rebuilt table. Nothing writes the rebuilt table now
// (the rebuild has caught up), so the count is exact. It returns the
// statements that swap the values table in with the contacts table.
func (s *Store) rebuildContactValues(ctx context.Context, shadow string) ([]string, error) {
	next := contactValues + rebuildSuffix
	_, err := s.pool.Exec(ctx, fmt.Sprintf(`DROP TABLE IF EXISTS %[1]s;
		CREATE TABLE %[1]s (LIKE %[2]s INCLUDING DEFAULTS);
		SELECT rm_contact_values_fill('%[3]s', '%[1]s');
		ALTER TABLE %[1]s ADD CONSTRAINT rm_contact_values_pkey%[4]s PRIMARY KEY (account_id, field, value);
		CREATE INDEX rm_contact_values_order_idx%[4]s ON %[1]s (account_id, field, lower(value));
		CREATE INDEX rm_contact_values_trgm_idx%[4]s ON %[1]s USING gin (lower(value) gin_trgm_ops);
		ANALYZE %[1]s;
		DROP TRIGGER IF EXISTS rm_contact_values_ins ON %[3]s;
		DROP TRIGGER IF EXISTS rm_contact_values_upd ON %[3]s;
		DROP TRIGGER IF EXISTS rm_contact_values_del ON %[3]s;
		SELECT rm_contact_values_triggers('%[3]s');`, next, contactValues, shadow, rebuildSuffix),
		pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, fmt.Errorf("pgstore: field values of the rebuilt contacts: %w", err)
	}
	stmts := []string{
		fmt.Sprintf(`LOCK TABLE %s, %s IN ACCESS EXCLUSIVE MODE`, contactValues, next),
		fmt.Sprintf(`DROP TABLE %s`, contactValues),
		fmt.Sprintf(`ALTER TABLE %s RENAME TO %s`, next, contactValues),
	}
	for _, ix := range contactValuesIndexes {
		stmts = append(stmts, fmt.Sprintf(`ALTER INDEX %s%s RENAME TO %s`, ix, rebuildSuffix, ix))
	}
	return stmts, nil
}
