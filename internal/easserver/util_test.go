package easserver_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/roost-mail/roost/internal/easserver"
	"github.com/roost-mail/roost/internal/mail"
	"github.com/roost-mail/roost/internal/testenv"
)

func (e *env) listDevices(login string) ([]mail.DeviceStatus, error) {
	return mail.Devices(e.as(login), e.db, login)
}

func itoa(u uint32) string { return strconv.FormatUint(uint64(u), 10) }

type easOptions = easserver.Options

func testenvXML2WBXML(t *testing.T, doc string) []byte { return testenv.XML2WBXML(t, doc) }

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
