package httpapi

// field is one request field: its JSON name, its kind, whether a call
// that takes it needs it, a doc line, and where its value goes in args.
type field struct {
	name     string
	kind     kind
	required bool
	doc      string
	into     func(*args) any
}

// fieldSet is the vocabulary of request fields, one value per name; the
// calls pick theirs from it.
type fieldSet struct {
	clientID, clientIDs, uid, uids, group, groups *field
	message, binary, exclude, async               *field
	info, code, reason, final, finalBinary        *field
}

func newFieldSet() fieldSet {
	return fieldSet{
		clientID:  &field{"clientId", str, true, "the client's id", func(a *args) any { return &a.ClientID }},
		clientIDs: &field{"clientIds", strs, true, "client ids", func(a *args) any { return &a.ClientIDs }},
		uid:       &field{"uid", str, true, "a user id", func(a *args) any { return &a.UID }},
		uids:      &field{"uids", strs, true, "user ids", func(a *args) any { return &a.UIDs }},
		group:     &field{"group", str, true, "a group name", func(a *args) any { return &a.Group }},
		groups:    &field{"groups", strs, true, "group names", func(a *args) any { return &a.Groups }},
		message: &field{"message", str, true, "the message: text (valid UTF-8), or with binary true the standard base64 of its bytes",
			func(a *args) any { return &a.Message }},
		binary: &field{"binary", boolean, false, "send a binary message, message being its base64 (default false: text)",
			func(a *args) any { return &a.Binary }},
		exclude: &field{"exclude", strs, false, "client ids left out of the send",
			func(a *args) any { return &a.Exclude }},
		async: &field{"async", boolean, false, "for a client on another node, return once the message is queued for it, without asking whether the client is connected",
			func(a *args) any { return &a.Async }},
		info: &field{"info", info, true, "the client's info, an object of strings",
			func(a *args) any { return &a.Info }},
		code: &field{"code", integer, false, "close code: 1000 (default), 1001, 1008 or 3000-4999",
			func(a *args) any { return &a.Code }},
		reason: &field{"reason", str, false, "close reason, at most 123 bytes of UTF-8",
			func(a *args) any { return &a.Reason }},
		final: &field{"final", str, false, "a last message sent before the close frame (base64 with finalBinary)",
			func(a *args) any { return &a.Final }},
		finalBinary: &field{"finalBinary", boolean, false, "final is a binary message, as base64",
			func(a *args) any { return &a.FinalBinary }},
	}
}
