package esstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/operationtype"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/refresh"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/versiontype"
)

// Bulk requests are cut at this many operations or about this many bytes.
const (
	bulkMaxOps   = 1000
	bulkMaxBytes = 5 << 20
)

// bulkOp writes one whole document, only if its version is newer than the
// stored one (version_type external: strictly greater; external_gte:
// greater or equal, for a denormalisation refresh at the same version).
type bulkOp struct {
	Index       string // index or alias
	ID          string // _id (docKey)
	Version     int64
	VersionType versiontype.VersionType
	Source      json.RawMessage
}

// action is the bulk action line of op.
func (op bulkOp) action() types.OperationContainer {
	index, id, version, vt := op.Index, op.ID, op.Version, op.VersionType
	return types.OperationContainer{Index: &types.IndexOperation{
		Index_: &index, Id_: &id, Version: &version, VersionType: &vt,
	}}
}

// bulkBody is the NDJSON body of a _bulk request: an action line and a
// source line per operation.
func bulkBody(ops []bulkOp) ([]byte, error) {
	var buf bytes.Buffer
	for _, op := range ops {
		line, err := json.Marshal(op.action())
		if err != nil {
			return nil, err
		}
		if !json.Valid(op.Source) {
			return nil, fmt.Errorf("bulk: document %s: invalid JSON source", op.ID)
		}
		buf.Write(line)
		buf.WriteByte('\n')
		buf.Write(op.Source)
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}

// bulkChunks cuts ops into requests of at most bulkMaxOps operations and
// about bulkMaxBytes of sources.
func bulkChunks(ops []bulkOp) [][]bulkOp {
	var chunks [][]bulkOp
	start, size := 0, 0
	for i, op := range ops {
		if i > start && (i-start >= bulkMaxOps || size+len(op.Source) > bulkMaxBytes) {
			chunks = append(chunks, ops[start:i])
			start, size = i, 0
		}
		size += len(op.Source)
	}
	if start < len(ops) {
		chunks = append(chunks, ops[start:])
	}
	return chunks
}

// itemOutcome is what became of one bulk operation.
type itemOutcome int

const (
	itemWritten  itemOutcome = iota
	itemConflict             // not newer than the stored document: skipped
	itemRetry                // the cluster pushed back (429/503…): send again
	itemFailed
)

// classifyItem reads one bulk response item.
func classifyItem(item types.ResponseItem) itemOutcome {
	switch {
	case item.Error == nil && item.Status >= 200 && item.Status < 300:
		return itemWritten
	case item.Status == 409 && (item.Error == nil || item.Error.Type == "version_conflict_engine_exception"):
		return itemConflict
	case retryableStatus(item.Status):
		return itemRetry
	}
	return itemFailed
}

// itemError describes a failed bulk item with its id and reason.
func itemError(op bulkOp, item types.ResponseItem) error {
	reason, typ := "", ""
	if item.Error != nil {
		typ = item.Error.Type
		if item.Error.Reason != nil {
			reason = *item.Error.Reason
		}
		if c := item.Error.CausedBy; c != nil && c.Reason != nil {
			reason += ": " + *c.Reason
		}
	}
	return fmt.Errorf("elasticsearch: writing %s to %s: status %d %s: %s", op.ID, op.Index, item.Status, typ, reason)
}

// bulkResult tells which operations (by their index in the request) were
// written and which were skipped as not newer.
type bulkResult struct {
	Written, Conflicts []int
}

// bulk sends ops, retrying the whole request on transport errors and
// overload, and the items the cluster pushed back, with back-off. A version
// conflict is not an error; any other failed item is.
func (s *Store) bulk(ctx context.Context, ops []bulkOp) (bulkResult, error) {
	var res bulkResult
	offset := 0
	for _, chunk := range bulkChunks(ops) {
		r, err := s.bulkChunk(ctx, chunk)
		for _, i := range r.Written {
			res.Written = append(res.Written, offset+i)
		}
		for _, i := range r.Conflicts {
			res.Conflicts = append(res.Conflicts, offset+i)
		}
		if err != nil {
			return res, err
		}
		offset += len(chunk)
	}
	if len(res.Conflicts) > 0 {
		s.log.Debug("elasticsearch: documents not newer than the stored ones were skipped",
			"skipped", len(res.Conflicts), "written", len(res.Written))
	}
	return res, nil
}

func (s *Store) bulkChunk(ctx context.Context, ops []bulkOp) (bulkResult, error) {
	var res bulkResult
	pending := make([]int, len(ops)) // indexes into ops still to send
	for i := range pending {
		pending[i] = i
	}
	b := s.newBackoff()
	for {
		batch := make([]bulkOp, len(pending))
		for i, p := range pending {
			batch[i] = ops[p]
		}
		body, err := bulkBody(batch)
		if err != nil {
			return res, err
		}
		req := s.es.Bulk().Raw(bytes.NewReader(body))
		if s.cfg.Refresh == RefreshWaitFor {
			req = req.Refresh(refresh.Waitfor)
		}
		resp, err := req.Do(ctx)
		var retry []int
		switch {
		case err != nil && !retryable(err):
			return res, fmt.Errorf("elasticsearch bulk: %w", err)
		case err != nil:
			retry = pending
		default:
			if len(resp.Items) != len(batch) {
				return res, fmt.Errorf("elasticsearch bulk: %d items answered for %d sent", len(resp.Items), len(batch))
			}
			var errs []error
			for i, m := range resp.Items {
				item, ok := responseItem(m)
				if !ok {
					errs = append(errs, fmt.Errorf("elasticsearch bulk: no index result for %s", batch[i].ID))
					continue
				}
				switch classifyItem(item) {
				case itemWritten:
					res.Written = append(res.Written, pending[i])
				case itemConflict:
					res.Conflicts = append(res.Conflicts, pending[i])
				case itemRetry:
					retry = append(retry, pending[i])
				default:
					errs = append(errs, itemError(batch[i], item))
				}
			}
			if len(errs) > 0 {
				return res, errors.Join(errs...)
			}
		}
		if len(retry) == 0 {
			return res, nil
		}
		d, ok := b.next()
		if !ok {
			if err == nil {
				err = fmt.Errorf("%d items still refused", len(retry))
			}
			return res, fmt.Errorf("elasticsearch bulk: giving up after retries: %w", err)
		}
		s.log.Warn("elasticsearch bulk pushed back, retrying", "items", len(retry), "err", err, "wait", d)
		if err := sleep(ctx, d); err != nil {
			return res, err
		}
		pending = retry
	}
}

// responseItem returns the result of an index action.
func responseItem(m map[operationtype.OperationType]types.ResponseItem) (types.ResponseItem, bool) {
	if item, ok := m[operationtype.Index]; ok {
		return item, true
	}
	for _, item := range m {
		return item, true
	}
	return types.ResponseItem{}, false
}
