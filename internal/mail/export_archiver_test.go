package mail

// ReadHeader is readHeader, for FuzzStub.
var ReadHeader = readHeader
