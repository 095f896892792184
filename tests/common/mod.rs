pub mod lab;
pub mod mosquitto;
pub mod netns;
