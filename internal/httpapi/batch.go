package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// batchRequest is the body of POST /api/v1/batch: calls made one after
// the other, in order, so that a later call sees what an earlier one did
// (a BindUID, then a SendToUID) and sends reach a client in their order.
type batchRequest struct {
	Calls []batchCall `json:"calls"`
}

type batchCall struct {
	Call string          `json:"call"`
	Args json.RawMessage `json:"args"`
}

// batchItem is one call's answer in the batch's answer: what its own
// request would have answered, with that request's status.
type batchItem struct {
	Status int `json:"status"`
	result
}

// serveBatch makes a batch's calls and answers 200 with one item per call,
// in order, each a success or an error of its own; a call that fails does
// not stop the next. Only a batch that cannot be read is refused whole.
func (h *Handler) serveBatch(ctx context.Context, w http.ResponseWriter, key int, body []byte) {
	var b batchRequest
	if err := json.Unmarshal(body, &b); err != nil {
		h.fail(w, errBad, "batch: body is not {\"calls\": [...]}: "+err.Error())
		return
	}
	if len(b.Calls) > h.o.MaxBatch {
		h.fail(w, errBad, fmt.Sprintf("batch of %d calls is over the limit of %d", len(b.Calls), h.o.MaxBatch))
		return
	}
	// One call was taken before the body was read.
	if len(b.Calls) > 1 && !h.admit(w, key, len(b.Calls)-1) {
		return
	}
	items := make([]batchItem, len(b.Calls))
	for i, bc := range b.Calls {
		c := h.calls[bc.Call]
		var res result
		switch {
		case c == nil:
			res = result{status: errNotFound.status, Error: &errorBody{Code: errNotFound.code, Message: fmt.Sprintf("calls[%d]: no call %q", i, bc.Call)}}
		case ctx.Err() != nil:
			res = h.failed(fmt.Errorf("calls[%d]: not made: %w", i, ctx.Err()))
		default:
			args := bc.Args
			if len(args) == 0 {
				args = json.RawMessage("{}")
			}
			res = h.run(ctx, c, args)
		}
		items[i] = batchItem{Status: res.status, result: res}
	}
	h.reply(w, http.StatusOK, struct {
		Results []batchItem `json:"results"`
	}{items})
}
