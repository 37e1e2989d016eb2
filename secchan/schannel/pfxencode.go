package schannel

// A minimal PKCS#12 (RFC 7292) encoder: the only way to hand Windows a
// private key that it keeps in memory is PFXImportCertStore with
// PKCS12_NO_PERSIST_KEY, so a client certificate given as files (--cert and
// --key) is wrapped in a PFX in memory first. The standard library and
// golang.org/x/crypto decode PKCS#12 but do not encode it.
//
// The profile is the one every PKCS#12 reader accepts, Windows 7 and Wine's
// GnuTLS-backed crypt32 included: the key in a pkcs8ShroudedKeyBag under
// pbeWithSHAAnd3-KeyTripleDES-CBC, the certificates in a plain data
// SafeContents, an HMAC-SHA1 integrity MAC, and the leaf and the key tied by
// a localKeyId attribute (which is how Windows pairs them). The password is
// random and lives only as long as the import: the blob never leaves the
// process, so the legacy algorithms protect nothing that matters here.

import (
	"crypto"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"unicode/utf16"
)

var (
	oidData                 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidPKCS8ShroudedKeyBag  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	oidCertBag              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}
	oidX509Certificate      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 22, 1}
	oidLocalKeyID           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 21}
	oidPBEWithSHAAnd3KeyDES = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 3}
	oidSHA1                 = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
)

// pfxIterations is the KDF iteration count for the key encryption and the
// MAC (RFC 7292 recommends at least 1024).
const pfxIterations = 2048

type pfxPDU struct {
	Version  int
	AuthSafe pfxContentInfo
	MacData  pfxMacData
}

type pfxContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue // [0] EXPLICIT
}

type pfxMacData struct {
	Mac        pfxDigestInfo
	MacSalt    []byte
	Iterations int
}

type pfxDigestInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	Digest    []byte
}

type pfxSafeBag struct {
	ID         asn1.ObjectIdentifier
	Value      asn1.RawValue  // [0] EXPLICIT
	Attributes []pfxAttribute `asn1:"set,optional"`
}

type pfxAttribute struct {
	ID     asn1.ObjectIdentifier
	Values asn1.RawValue // SET OF
}

type pfxCertBag struct {
	ID   asn1.ObjectIdentifier
	Data asn1.RawValue // [0] EXPLICIT OCTET STRING
}

type pfxPBEParams struct {
	Salt       []byte
	Iterations int
}

type pfxEncryptedPrivateKeyInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	Data      []byte
}

// explicit0 wraps DER in a [0] EXPLICIT tag.
func explicit0(der []byte) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: der}
}

// encodePFX returns a PKCS#12 PFX holding key, the leaf certificate (DER)
// and the chain certificates after it, protected with password (which must
// be ASCII).
func encodePFX(key crypto.PrivateKey, leaf []byte, chain [][]byte, password string) ([]byte, error) {
	if len(leaf) == 0 {
		return nil, errors.New("no certificate")
	}
	pw := bmpPassword(password)
	keyID := sha1.Sum(leaf)
	idAttr, err := asn1.Marshal(keyID[:])
	if err != nil {
		return nil, err
	}
	attrs := []pfxAttribute{{ID: oidLocalKeyID,
		Values: asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: idAttr}}}

	// The certificates, the leaf with the key's localKeyId.
	var certBags []pfxSafeBag
	for i, der := range append([][]byte{leaf}, chain...) {
		octets, err := asn1.Marshal(der)
		if err != nil {
			return nil, err
		}
		cb, err := asn1.Marshal(pfxCertBag{ID: oidX509Certificate, Data: explicit0(octets)})
		if err != nil {
			return nil, err
		}
		bag := pfxSafeBag{ID: oidCertBag, Value: explicit0(cb)}
		if i == 0 {
			bag.Attributes = attrs
		}
		certBags = append(certBags, bag)
	}

	// The key, PKCS#8 encrypted with pbeWithSHAAnd3-KeyTripleDES-CBC
	// (RFC 7292 appendix C): key and IV from the PKCS#12 KDF.
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	defer clear(p8)
	salt := make([]byte, 8)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	block, err := des.NewTripleDESCipher(pkcs12KDF(1, pw, salt, pfxIterations, 24))
	if err != nil {
		return nil, err
	}
	pad := des.BlockSize - len(p8)%des.BlockSize
	enc := make([]byte, len(p8)+pad)
	copy(enc, p8)
	for i := len(p8); i < len(enc); i++ {
		enc[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, pkcs12KDF(2, pw, salt, pfxIterations, des.BlockSize)).CryptBlocks(enc, enc)
	params, err := asn1.Marshal(pfxPBEParams{Salt: salt, Iterations: pfxIterations})
	if err != nil {
		return nil, err
	}
	epki, err := asn1.Marshal(pfxEncryptedPrivateKeyInfo{
		Algorithm: pkix.AlgorithmIdentifier{Algorithm: oidPBEWithSHAAnd3KeyDES, Parameters: asn1.RawValue{FullBytes: params}},
		Data:      enc})
	if err != nil {
		return nil, err
	}
	keyBags := []pfxSafeBag{{ID: oidPKCS8ShroudedKeyBag, Value: explicit0(epki), Attributes: attrs}}

	// AuthenticatedSafe: two plain data ContentInfos of SafeContents.
	var safe []pfxContentInfo
	for _, bags := range [][]pfxSafeBag{certBags, keyBags} {
		sc, err := asn1.Marshal(bags)
		if err != nil {
			return nil, err
		}
		octets, err := asn1.Marshal(sc)
		if err != nil {
			return nil, err
		}
		safe = append(safe, pfxContentInfo{ContentType: oidData, Content: explicit0(octets)})
	}
	authSafe, err := asn1.Marshal(safe)
	if err != nil {
		return nil, err
	}

	// The MAC over the AuthenticatedSafe's octets (RFC 7292 section 5.1).
	macSalt := make([]byte, 8)
	if _, err := rand.Read(macSalt); err != nil {
		return nil, err
	}
	mac := hmac.New(sha1.New, pkcs12KDF(3, pw, macSalt, pfxIterations, sha1.Size))
	mac.Write(authSafe)
	octets, err := asn1.Marshal(authSafe)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(pfxPDU{
		Version:  3,
		AuthSafe: pfxContentInfo{ContentType: oidData, Content: explicit0(octets)},
		MacData: pfxMacData{
			Mac:        pfxDigestInfo{Algorithm: pkix.AlgorithmIdentifier{Algorithm: oidSHA1, Parameters: asn1.NullRawValue}, Digest: mac.Sum(nil)},
			MacSalt:    macSalt,
			Iterations: pfxIterations,
		},
	})
}

// bmpPassword is a password as PKCS#12 feeds it to its KDF: UTF-16
// big-endian with a terminating zero (RFC 7292 appendix B.1).
func bmpPassword(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u)+2)
	for _, c := range u {
		b = append(b, byte(c>>8), byte(c))
	}
	return append(b, 0, 0)
}

// pkcs12KDF is the PKCS#12 key derivation with SHA-1 (RFC 7292 appendix
// B.2): id 1 derives key material, 2 an IV, 3 a MAC key.
func pkcs12KDF(id byte, password, salt []byte, iterations, size int) []byte {
	const u, v = sha1.Size, 64
	fill := func(src []byte) []byte {
		if len(src) == 0 {
			return nil
		}
		out := make([]byte, v*((len(src)+v-1)/v))
		for i := range out {
			out[i] = src[i%len(src)]
		}
		return out
	}
	d := make([]byte, v)
	for i := range d {
		d[i] = id
	}
	in := append(fill(salt), fill(password)...)
	out := make([]byte, 0, size+u)
	for len(out) < size {
		h := sha1.New()
		h.Write(d)
		h.Write(in)
		a := h.Sum(nil)
		for i := 1; i < iterations; i++ {
			s := sha1.Sum(a)
			a = s[:]
		}
		out = append(out, a...)
		b := fill(a)
		for j := 0; j < len(in); j += v {
			carry := 1
			for k := v - 1; k >= 0; k-- {
				x := int(in[j+k]) + int(b[k]) + carry
				in[j+k] = byte(x)
				carry = x >> 8
			}
		}
	}
	clear(in)
	return out[:size]
}
