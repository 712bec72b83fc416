package register

import (
	"testing"
	"time"
)

func TestEtcdOptionsDefaults(t *testing.T) {
	o := EtcdOptions{Endpoints: []string{"127.0.0.1:2379"}, Self: Peer{ID: "0000beef", Addr: "127.0.0.1:7000"}}
	if err := o.setDefaults(); err != nil {
		t.Fatal(err)
	}
	if o.Prefix != DefaultEtcdPrefix || o.TTL != 3*time.Second || o.Self.Incarnation == 0 ||
		o.DialTimeout != 2*time.Second || o.MaxBackoff != time.Second {
		t.Fatalf("defaults: %+v", o)
	}
	o = EtcdOptions{Endpoints: []string{"e:1"}, Prefix: "/mine", TTL: 1500 * time.Millisecond, Self: Peer{ID: "a", Addr: "b"}}
	if err := o.setDefaults(); err != nil || o.Prefix != "/mine/" || o.TTL != 2*time.Second {
		t.Fatalf("prefix %q, TTL %v (want /mine/ and 2s rounded up), %v", o.Prefix, o.TTL, err)
	}
	for _, bad := range []EtcdOptions{
		{Self: Peer{ID: "a", Addr: "b"}},
		{Endpoints: []string{"e:1"}, Self: Peer{ID: "a"}},
		{Endpoints: []string{"e:1"}, Self: Peer{ID: "a/b", Addr: "b"}},
	} {
		if err := bad.setDefaults(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
