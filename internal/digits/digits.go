// Package digits writes non-negative integers zero-padded to a width: the
// fixed-width fields (year, month, day, clock, microseconds) of the time
// texts that pgsink gives PostgreSQL and jsonlsink writes into JSON lines,
// without fmt's cost on the row path.
package digits

// AppendPadded appends n (which must be >= 0) in decimal, zero-padded to at
// least width digits: AppendPadded(b, 7, 2) appends "07", AppendPadded(b,
// 294276, 4) appends "294276" (a wider number is never cut).
func AppendPadded(b []byte, n, width int) []byte {
	var buf [20]byte // the digits of the largest int64
	i := len(buf)
	for n >= 10 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	i--
	buf[i] = byte('0' + n)
	for pad := width - (len(buf) - i); pad > 0; pad-- {
		b = append(b, '0')
	}
	return append(b, buf[i:]...)
}
