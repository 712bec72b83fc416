package httpapi

// field is one request field: its JSON name, its kind, whether a call
// that takes it needs it, a doc line, and where its value goes in args.
type field struct {
	name     string
	kind     kind
	required bool
	doc      string
	into     func(*args) any
	example  any // a value for the documents' examples
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
		clientID:  &field{"clientId", str, true, "the client's id", func(a *args) any { return &a.ClientID }, "0a1b2c3d18ee1062c8fa55fe0000000000000001"},
		clientIDs: &field{"clientIds", strs, true, "client ids", func(a *args) any { return &a.ClientIDs }, []string{"0a1b2c3d18ee1062c8fa55fe0000000000000001", "4e5f6a7b18ee1063a1b2c3d40000000000000007"}},
		uid:       &field{"uid", str, true, "a user id", func(a *args) any { return &a.UID }, "alice"},
		uids:      &field{"uids", strs, true, "user ids", func(a *args) any { return &a.UIDs }, []string{"alice", "bob"}},
		group:     &field{"group", str, true, "a group name", func(a *args) any { return &a.Group }, "room"},
		groups:    &field{"groups", strs, true, "group names", func(a *args) any { return &a.Groups }, []string{"room", "lobby"}},
		message: &field{"message", str, true, "the message: text (valid UTF-8), or with binary true the standard base64 of its bytes",
			func(a *args) any { return &a.Message }, "hello"},
		binary: &field{"binary", boolean, false, "send a binary message, message being its base64 (default false: text)",
			func(a *args) any { return &a.Binary }, true},
		exclude: &field{"exclude", strs, false, "client ids left out of the send",
			func(a *args) any { return &a.Exclude }, []string{"0a1b2c3d18ee1062c8fa55fe0000000000000001"}},
		async: &field{"async", boolean, false, "for a client on another node, return once the message is queued for it, without asking whether the client is connected",
			func(a *args) any { return &a.Async }, true},
		info: &field{"info", info, true, "the client's info, an object of strings",
			func(a *args) any { return &a.Info }, map[string]string{"name": "Alice"}},
		code: &field{"code", integer, false, "close code: 1000 (default), 1001, 1008 or 3000-4999",
			func(a *args) any { return &a.Code }, 4000},
		reason: &field{"reason", str, false, "close reason, at most 123 bytes of UTF-8",
			func(a *args) any { return &a.Reason }, "bye"},
		final: &field{"final", str, false, "a last message sent before the close frame (base64 with finalBinary)",
			func(a *args) any { return &a.Final }, "see you"},
		finalBinary: &field{"finalBinary", boolean, false, "final is a binary message, as base64",
			func(a *args) any { return &a.FinalBinary }, false},
	}
}
