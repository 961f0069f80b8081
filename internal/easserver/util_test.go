package easserver_test

import (
	"strconv"
	"time"

	"github.com/roost-mail/roost/internal/easserver"
	"github.com/roost-mail/roost/internal/mail"
)

func (e *env) listDevices(login string) ([]mail.DeviceStatus, error) {
	return mail.Devices(e.as(login), e.db, login)
}

func itoa(u uint32) string { return strconv.FormatUint(uint64(u), 10) }

type easOptions = easserver.Options

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
