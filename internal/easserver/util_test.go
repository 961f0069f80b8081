package easserver_test

import "github.com/roost-mail/roost/internal/mail"

func (e *env) listDevices(login string) ([]mail.DeviceStatus, error) {
	return mail.Devices(e.as(login), e.db, login)
}
