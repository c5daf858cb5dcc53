//! `TestPhone`: the mini-program's half of split-key signing, natively through `mcert-signer`
//! (the same code the wasm runs), talking to the real HTTP API.
#![allow(clippy::unwrap_used)]

use base64::{Engine as _, engine::general_purpose::STANDARD};
use mcert_signer::{
    cosign::{self, ServerPartials},
    share::{MaskedShare, generate_share},
    transport::Channel,
};
use rand::RngCore as _;
use serde_json::{Value, json};

use crate::helpers::TestApp;

pub const USCC: &str = "91440300708461136T";
pub const UNIT_NAME: &str = "昆明测试科技有限公司";
pub const PIN: &str = "246810";

pub fn entropy() -> [u8; 64] {
    let mut bytes = [0u8; 64];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub fn unb64(value: &Value) -> Vec<u8> {
    STANDARD.decode(value.as_str().unwrap()).unwrap()
}

/// A phone after enrolment: only what the mini-program stores (no P1, no check value).
#[derive(Debug)]
pub struct TestPhone {
    pub share: MaskedShare,
    pub serial: String,
    pub public_key: Vec<u8>,
    pub device_token: String,
}

impl TestPhone {
    /// The phone's first co-signing step with `pin` in session `id` over `message`.
    pub fn begin(
        &self,
        pin: &str,
        id: &str,
        message: &[u8],
    ) -> (cosign::ClientSigning, cosign::ClientRound) {
        cosign::begin(
            &self.share,
            pin.as_bytes(),
            id.as_bytes(),
            message,
            &entropy(),
        )
        .unwrap()
    }
}

/// The server's answer to a sealed round, with the partials opened when it gave some.
#[derive(Debug)]
pub struct RoundAnswer {
    pub answer: Answer,
    /// The opened partials of a 200 answer.
    pub partials: Option<ServerPartials>,
    /// The JSON body as sent, as a logging proxy would record it.
    pub request: Value,
}

impl std::ops::Deref for RoundAnswer {
    type Target = Answer;
    fn deref(&self) -> &Answer {
        &self.answer
    }
}

/// A JSON answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// Reads a response: its status and JSON body (a body that is not JSON as a string).
    pub async fn of(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer { status, body }
    }

    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

impl TestApp {
    pub async fn post_json(&self, path: &str, body: &Value, bearer: Option<&str>) -> Answer {
        let mut request = self
            .client
            .post(format!("{}{path}", self.address))
            .json(body);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        Answer::of(request.send().await.unwrap()).await
    }

    pub async fn get_json(&self, path: &str, bearer: &str) -> Answer {
        let response = self
            .client
            .get(format!("{}{path}", self.address))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        Answer {
            status,
            body: response.json().await.unwrap(),
        }
    }

    /// A ticket from the development endpoint.
    pub async fn ticket(&self) -> String {
        let answer = self
            .post_json(
                "/dev/enrolment-tickets",
                &json!({
                    "uscc": USCC,
                    "unit_name": UNIT_NAME,
                    "holder_name": "张三",
                    "id_number": "11010519491231002X",
                    "phone": "13800138000",
                }),
                None,
            )
            .await;
        assert_eq!(answer.status, 201, "{:?}", answer.body);
        answer.body["ticket"].as_str().unwrap().to_string()
    }

    /// Starts an enrolment with a new share under `pin`: (share, the 201 body).
    pub async fn start_enrolment(&self, ticket: &str, pin: &str) -> (MaskedShare, Value) {
        let (share, p1) = generate_share(&entropy(), pin.as_bytes()).unwrap();
        let p1 = sm2::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&p1, false);
        let answer = self
            .post_json(
                "/api/v1/enrolments",
                &json!({ "ticket": ticket, "p1": b64(p1.as_bytes()) }),
                None,
            )
            .await;
        assert_eq!(answer.status, 201, "{:?}", answer.body);
        (share, answer.body)
    }

    /// A full enrolment: ticket, share, co-signed enrolment message.
    pub async fn enrol(&self, pin: &str) -> TestPhone {
        let ticket = self.ticket().await;
        let (share, started) = self.start_enrolment(&ticket, pin).await;
        let public_key = unb64(&started["public_key"]);
        let done = self
            .cosign(&started["cosign"], &public_key, &share, pin)
            .await
            .unwrap();
        assert_eq!(done["purpose"], "key_enrolment");
        TestPhone {
            share,
            serial: started["serial"].as_str().unwrap().to_string(),
            public_key,
            device_token: done["device_token"].as_str().unwrap().to_string(),
        }
    }

    /// The published transport key, as the mini-program pins it.
    pub async fn transport_key(&self) -> sm2::PublicKey {
        let response = self
            .client
            .get(format!("{}/api/v1/mp/transport-key", self.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["round_version"], 2);
        mcert_signer::parse_public_key(&unb64(&body["public_key"])).unwrap()
    }

    /// A round sealed for session `session_id` to the published transport key, not sent.
    pub async fn seal_round(&self, session_id: &str, round: &cosign::ClientRound) -> Vec<u8> {
        let (channel, ephemeral) = Channel::client(
            &self.transport_key().await,
            session_id.as_bytes(),
            &entropy(),
        )
        .unwrap();
        channel.seal_round(&ephemeral, round)
    }

    /// The PIN proof step only, sealed as the wasm module seals it: the server's answer
    /// (sealed partials, opened here, or an error).
    pub async fn send_round(&self, session_id: &str, round: &cosign::ClientRound) -> RoundAnswer {
        let (channel, ephemeral) = Channel::client(
            &self.transport_key().await,
            session_id.as_bytes(),
            &entropy(),
        )
        .unwrap();
        let request = json!({ "sealed_round": b64(&channel.seal_round(&ephemeral, round)) });
        let answer = self
            .post_json(
                &format!("/api/v1/cosign/{session_id}/partials"),
                &request,
                None,
            )
            .await;
        let partials = (answer.status == 200).then(|| {
            channel
                .open_partials(&unb64(&answer.body["sealed_partials"]))
                .unwrap()
        });
        RoundAnswer {
            answer,
            partials,
            request,
        }
    }

    /// Both co-signing steps for a session as the server sent it: Ok(signature answer) or
    /// Err(the error answer of the first refused step).
    pub async fn cosign(
        &self,
        session: &Value,
        public_key: &[u8],
        share: &MaskedShare,
        pin: &str,
    ) -> Result<Value, Answer> {
        let id = session["session_id"].as_str().unwrap();
        let message = unb64(&session["message"]);
        let (signing, round) =
            cosign::begin(share, pin.as_bytes(), id.as_bytes(), &message, &entropy()).unwrap();
        let answer = self.send_round(id, &round).await;
        let Some(partials) = answer.partials else {
            return Err(answer.answer);
        };
        let public_key = mcert_signer::parse_public_key(public_key).unwrap();
        let signature = signing.finish(&partials, &public_key).unwrap();
        let answer = self
            .post_json(
                &format!("/api/v1/cosign/{id}/signature"),
                &json!({ "signature": b64(&signature) }),
                None,
            )
            .await;
        if answer.status != 200 {
            return Err(answer);
        }
        let mut body = answer.body;
        body["signature"] = Value::String(b64(&signature));
        body["message"] = Value::String(b64(&message));
        Ok(body)
    }

    /// Asks for a key-check session for a phone's certificate with any bearer token.
    pub async fn try_key_check(
        &self,
        phone: &TestPhone,
        purpose: &str,
        bearer: Option<&str>,
    ) -> Answer {
        self.post_json(
            &format!("/api/v1/certificates/{}/key-checks", phone.serial),
            &json!({ "purpose": purpose }),
            bearer,
        )
        .await
    }

    /// Opens a key-check session for a phone.
    pub async fn key_check(&self, phone: &TestPhone, purpose: &str) -> Value {
        let answer = self
            .try_key_check(phone, purpose, Some(&phone.device_token))
            .await;
        assert_eq!(answer.status, 201, "{:?}", answer.body);
        answer.body
    }

    /// PIN check with `pin`.
    pub async fn verify_pin(&self, phone: &TestPhone, pin: &str) -> Result<Value, Answer> {
        let session = self.key_check(phone, "verify_pin").await;
        self.cosign(&session, &phone.public_key, &phone.share, pin)
            .await
    }

    pub async fn key_status(&self, phone: &TestPhone) -> Value {
        let answer = self
            .get_json(
                &format!("/api/v1/certificates/{}/key", phone.serial),
                &phone.device_token,
            )
            .await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        answer.body
    }
}
