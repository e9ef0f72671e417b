#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <string.h>

// Small C functions over OpenSSL macros (which Swift cannot import) and the callbacks
// WebSocketTransport installs. All static inline: nothing to link beyond ssl and crypto.

static inline int wscope_ssl_ctx_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

static inline uint64_t wscope_ssl_op_no_renegotiation(void) {
    return SSL_OP_NO_RENEGOTIATION;
}

static inline long wscope_ssl_ctx_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}

static inline int wscope_ssl_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

/// An empty memory BIO then asks the caller to retry (SSL_ERROR_WANT_READ) instead of
/// reporting end of file.
static inline void wscope_bio_set_mem_eof_return(BIO *bio, int value) {
    (void)BIO_set_mem_eof_return(bio, value);
}

static inline void wscope_openssl_free(void *pointer) {
    OPENSSL_free(pointer);
}

/// RFC 2253 order and separators ("CN=localhost,O=Example"), UTF-8 kept as is (the
/// caller escapes it for display).
static inline unsigned long wscope_name_print_flags(void) {
    return XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
}

static inline int wscope_general_names_count(const GENERAL_NAMES *names) {
    return sk_GENERAL_NAME_num(names);
}

/// Entry `index` of a subjectAltName list: its type (GEN_DNS, GEN_IPADD, ...) and the
/// bytes of a DNS name or IP address (NULL for other types).
static inline int wscope_general_name(const GENERAL_NAMES *names, int index,
                                      const unsigned char **data, int *length) {
    const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, index);
    *data = NULL;
    *length = 0;
    if (name == NULL) return -1;
    if (name->type == GEN_DNS && name->d.dNSName != NULL) {
        *data = ASN1_STRING_get0_data(name->d.dNSName);
        *length = ASN1_STRING_length(name->d.dNSName);
    } else if (name->type == GEN_IPADD && name->d.iPAddress != NULL) {
        *data = ASN1_STRING_get0_data(name->d.iPAddress);
        *length = ASN1_STRING_length(name->d.iPAddress);
    }
    return name->type;
}

static inline int wscope_x509_stack_count(const STACK_OF(X509) *stack) {
    return sk_X509_num(stack);
}

static inline X509 *wscope_x509_stack_value(const STACK_OF(X509) *stack, int index) {
    return sk_X509_value(stack, index);
}

/// Refuses to ask for a passphrase: OpenSSL's default would prompt on the terminal.
static int wscope_no_passphrase(char *buffer, int size, int writing, void *context) {
    (void)buffer; (void)size; (void)writing; (void)context;
    return 0;
}

static inline void wscope_ssl_ctx_refuse_passphrases(SSL_CTX *ctx) {
    SSL_CTX_set_default_passwd_cb(ctx, wscope_no_passphrase);
}

/// Server ALPN choice: `context` points at the server's protocols in wire format (each
/// a length byte then the name), preceded by their total length as two bytes (big
/// endian). The server's order wins; no overlap continues without ALPN.
static int wscope_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outLength,
                              const unsigned char *in, unsigned int inLength, void *context) {
    (void)ssl;
    const unsigned char *protocols = (const unsigned char *)context;
    if (protocols == NULL) return SSL_TLSEXT_ERR_NOACK;
    unsigned int length = ((unsigned int)protocols[0] << 8) | protocols[1];
    unsigned char *selected = NULL;
    if (SSL_select_next_proto(&selected, outLength, protocols + 2, length, in, inLength)
            != OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

static inline void wscope_ssl_ctx_set_alpn_select(SSL_CTX *ctx, const unsigned char *protocols) {
    SSL_CTX_set_alpn_select_cb(ctx, wscope_alpn_select, (void *)protocols);
}
