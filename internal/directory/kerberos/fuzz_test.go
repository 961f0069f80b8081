package kerberos

import (
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/types"
)

// FuzzSASLGSSAPI: no client message panics the exchange or the
// layer-reply parser.
func FuzzSASLGSSAPI(f *testing.F) {
	f.Add([]byte{0x60, 0x05, 0x06, 0x03, 0x2a, 0x86, 0x48}, []byte{1, 0, 0, 0, 'a'})
	f.Add([]byte{}, []byte{0x05, 0x04, 0, 0xff, 0, 12, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0})
	a := &Acceptor{cfg: Config{Realms: []string{"ROOST.TEST"}, MaxClockSkew: time.Minute}, kt: keytab.New()}
	key := types.EncryptionKey{KeyType: 18, KeyValue: make([]byte, 32)}
	f.Fuzz(func(t *testing.T, first, layer []byte) {
		ParseLayerReply(layer)
		unwrap(layer, key)
		g := a.SASL("imap")
		g.Next(first)
		g.ctx = &secContext{key: key}
		g.state = 2
		g.Next(layer)
		a.AcceptSPNEGO(first)
	})
}
