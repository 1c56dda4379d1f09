/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>

#include "lib/archive/chunk.h"

static void chunk_nonce_aad(const unsigned char prefix[CL_CLX_NONCE_PREFIX], uint64_t index,
			    uint32_t rec, unsigned char nonce[CL_CLX_NONCE_LEN],
			    unsigned char aad[CL_CLX_AAD_LEN])
{
	memcpy(nonce, prefix, CL_CLX_NONCE_PREFIX);
	cl_be32_put(nonce + CL_CLX_NONCE_PREFIX, (uint32_t)index);
	cl_le64_put(aad, index);
	cl_le32_put(aad + 8, rec);
}

int cl_clx_chunk_seal(EVP_CIPHER_CTX *ctx, const unsigned char prefix[CL_CLX_NONCE_PREFIX],
		      uint64_t index, bool final, const unsigned char *in, size_t len,
		      unsigned char *out)
{
	unsigned char nonce[CL_CLX_NONCE_LEN], aad[CL_CLX_AAD_LEN];
	uint32_t rec = (uint32_t)len | (final ? CL_CLX_REC_FINAL : 0);
	unsigned char *ct = out + CL_CLX_REC_HDR;
	int n = 0, m = 0;

	if (index >= CL_CLX_MAX_CHUNKS || len > CL_CLX_CHUNK_SIZE)
		return -EINVAL;
	chunk_nonce_aad(prefix, index, rec, nonce, aad);
	cl_le32_put(out, rec);
	if (EVP_EncryptInit_ex2(ctx, NULL, NULL, nonce, NULL) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, aad, sizeof(aad)) != 1)
		return -EIO;
	n = 0;
	/* in == ct is in-place encryption, which EVP supports; partial overlap is not */
	if (len && EVP_EncryptUpdate(ctx, ct, &n, in, (int)len) != 1)
		return -EIO;
	if (EVP_EncryptFinal_ex(ctx, ct + n, &m) != 1 || (size_t)(n + m) != len)
		return -EIO;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, CL_CLX_TAG_LEN, ct + len) != 1)
		return -EIO;
	return 0;
}

int cl_clx_chunk_open(EVP_CIPHER_CTX *ctx, const unsigned char prefix[CL_CLX_NONCE_PREFIX],
		      uint64_t index, uint32_t rec, const unsigned char *ct, unsigned char *out)
{
	unsigned char nonce[CL_CLX_NONCE_LEN], aad[CL_CLX_AAD_LEN], tag[CL_CLX_TAG_LEN];
	size_t len = rec & CL_CLX_REC_LEN_MASK;
	int n = 0, m = 0;

	if (index >= CL_CLX_MAX_CHUNKS || len > CL_CLX_CHUNK_SIZE)
		return -EINVAL;
	chunk_nonce_aad(prefix, index, rec, nonce, aad);
	/* copy the tag first: with out == ct the plaintext overwrites nothing after len */
	memcpy(tag, ct + len, CL_CLX_TAG_LEN);
	if (EVP_DecryptInit_ex2(ctx, NULL, NULL, nonce, NULL) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &n, aad, sizeof(aad)) != 1)
		return -EIO;
	n = 0;
	if (len && EVP_DecryptUpdate(ctx, out, &n, ct, (int)len) != 1)
		return -EIO;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, CL_CLX_TAG_LEN, tag) != 1)
		return -EIO;
	if (EVP_DecryptFinal_ex(ctx, out + n, &m) != 1)
		return -EBADMSG;
	return 0;
}

int cl_clx_chunk_rec_check(uint32_t rec, uint64_t index)
{
	uint32_t len = rec & CL_CLX_REC_LEN_MASK;

	if (index >= CL_CLX_MAX_CHUNKS || len > CL_CLX_CHUNK_SIZE)
		return -EBADMSG;
	if (!(rec & CL_CLX_REC_FINAL))
		return len == CL_CLX_CHUNK_SIZE ? 0 : -EBADMSG;
	return len == 0 && index != 0 ? -EBADMSG : 0;
}
