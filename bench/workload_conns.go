package bench

// connsLoad only holds connections open: the figures are the connect rate,
// the handshake latency and what the server spends per connection.
type connsLoad struct{}

func (connsLoad) opened(*Conn, int64)          {}
func (connsLoad) message(*Conn, []byte, int64) {}
func (connsLoad) start(int64)                  {}
func (connsLoad) tick(int64)                   {}
func (connsLoad) stop()                        {}
func (connsLoad) drained() bool                { return true }
func (connsLoad) finish(*Result)               {}
