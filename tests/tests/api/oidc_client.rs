//! A maintained third-party OpenID Connect client library (`openidconnect`, not written here)
//! against mcert: discovery, the code flow with PKCE and a nonce, the code exchange with the
//! client secret, ID-token validation (ES256 signature from the discovered JWKS, issuer,
//! audience, nonce, expiry) and userinfo — the way a portal's backend would use it.

use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
    core::{
        CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
        CoreUserInfoClaims,
    },
};

use crate::login::{self, PIN, REDIRECT};

#[tokio::test(flavor = "multi_thread")]
async fn openidconnect_completes_the_code_flow_with_pkce_and_validates_the_id_token() {
    let app = login::app().await;
    let (client_id, secret) =
        login::portal(&app, mcert_server::portals::ClientKind::Confidential).await;
    let (token, phone) = crate::downloads::downloaded(&app, "13900139021", "openid-rp", PIN).await;

    let http = openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.address.clone()).unwrap(), &http)
            .await
            .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.clone()),
        Some(ClientSecret::new(secret.unwrap())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.to_string()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("employer".into()))
        .set_pkce_challenge(challenge)
        .url();

    // The user's browser follows the URL, the phone scans and confirms, the browser comes back.
    let redirected = login::browser_login(&app, url.as_str(), &token, &phone).await;
    let back = reqwest::Url::parse(&redirected).unwrap();
    let param = |name: &str| {
        back.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    assert_eq!(&param("state"), csrf.secret());

    let answer = client
        .exchange_code(AuthorizationCode::new(param("code")))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let id_token = answer.id_token().expect("an ID token");
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    let claims = id_token.claims(&verifier, &nonce).unwrap();
    assert_eq!(claims.issuer().as_str(), app.address);
    assert_eq!(claims.audiences()[0].as_str(), client_id);
    let name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().to_string());
    assert_eq!(name.as_deref(), Some("张三"));
    // A nonce other than the one sent is refused by the library.
    assert!(
        id_token
            .claims(&verifier, &Nonce::new("another".into()))
            .is_err()
    );

    let info: CoreUserInfoClaims = client
        .user_info(answer.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(info.subject(), claims.subject());
}
