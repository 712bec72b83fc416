package api

import (
	"testing"

	"github.com/wsgate/wsgate/register"
)

func TestClusterSourceOptionErrors(t *testing.T) {
	src := func(register.Peer) (register.Source, error) { return nil, nil }
	for _, o := range []ClusterOptions{
		{Secret: "s", Source: src, Registers: []string{"127.0.0.1:1"}},
		{Secret: "s", Source: src, EmbeddedRegister: "127.0.0.1:0"},
	} {
		if _, err := NewGateway(Options{Cluster: &o}, newRecorder()); err == nil {
			t.Errorf("%+v accepted: Source goes with neither Registers nor EmbeddedRegister", o)
		}
	}
}
