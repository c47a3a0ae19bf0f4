#include <openssl/x509.h>

#include "tls.h"

const char *tls_verify_error_text(long code)
{
    return X509_verify_cert_error_string(code);
}
