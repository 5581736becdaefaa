//! The platform's gRPC contracts (`proto/`), generated at build time, and the conversions
//! between their messages and typed Rust values.

pub mod conversions;

pub mod auth {
    pub mod v1 {
        tonic::include_proto!("auth.v1");
    }
}

pub mod interview {
    pub mod v1 {
        tonic::include_proto!("interview.v1");
    }
}

/// Every service of `proto/`, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("platform_descriptor");
