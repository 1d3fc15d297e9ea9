"""The national medical insurance platform's interface (国家医保信息平台接口) for HIS systems."""

from api.nhsa.gateway import router

__all__ = ["router"]
